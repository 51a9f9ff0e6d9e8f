import { decodeErrorResult, parseAbi, type Hex } from "viem";
import { openPayEscrowAbi } from "./escrowAbi";

/** OpenZeppelin 5's ERC-20 errors: a customer's `pay` reverts with them when the allowance or the balance is short. */
const erc20Errors = parseAbi([
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
]);

const revertAbi = [...openPayEscrowAbi, ...erc20Errors];

/** What a shopper should read for the escrow's errors a deposit can meet; any other error shows by its name. */
const EXPLANATIONS: Record<string, string> = {
  DepositAfterExpiry: "the payment expired before the transaction arrived",
  InvalidPaymentStatus: "the payment no longer accepts deposits",
  DepositsPaused: "payments are paused for now",
  TokenNotAllowed: "this token is not accepted",
  ERC20InsufficientBalance: "the wallet's balance is too low",
  ERC20InsufficientAllowance: "the token approval is smaller than the amount",
  ZeroPaymentAmount: "the amount was zero",
  ZeroAmount: "the amount was zero",
  AmountTooLarge: "the amount is larger than the escrow accepts",
  FeeOnTransferToken: "the token took a fee on the transfer",
};

/**
 * A revert's data as a shopper reads it: the explanation where there is one, then the error as the contract raised
 * it (`DepositAfterExpiry(0x…, 1700000000, 1700000100)`), so that support can tell exactly what happened.
 */
export function explainRevert(data: Hex | undefined): string {
  if (!data || data === "0x") return "the transaction reverted without a reason";
  try {
    const decoded = decodeErrorResult({ abi: revertAbi, data });
    const args = (decoded.args ?? []).map((arg) => String(arg)).join(", ");
    const raised = `${decoded.errorName}(${args})`;
    if ((decoded.errorName as string) === "Error") return `the transaction reverted: ${args}`;
    const explanation = EXPLANATIONS[decoded.errorName];
    return explanation ? `${explanation} (${raised})` : raised;
  } catch {
    return `the transaction reverted with data ${data.slice(0, 74)}${data.length > 74 ? "…" : ""}`;
  }
}
