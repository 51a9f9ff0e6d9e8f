import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { formatUnits, type Address } from "viem";
import { parseAddress, parseAmount, parsePaymentId } from "./arguments";
import { operatorCommand, SENDING_FLAGS, SENDING_OPTIONS } from "./commandLine";
import { escrowContext, sendToEscrow, type CommonOptions, type EscrowContext } from "./escrowContext";
import { OperatorError } from "./operatorError";
import { escrowPaymentStatus } from "./paymentStatus";
import { knownToken, tokenAt } from "./tokens";

async function requireMerchant(context: EscrowContext): Promise<void> {
  const merchant = await context.escrow.merchantOf(context.sender.address);
  if (Number(merchant.id) === 0) {
    throw new OperatorError(`${context.sender.address} is not a registered merchant (use --from with the merchant's key)`);
  }
}

export async function withdraw(
  hre: HardhatRuntimeEnvironment,
  args: CommonOptions & { token?: string; amount?: string; all?: boolean },
  out?: (line: string) => void,
) {
  const context = await escrowContext(hre, args, out);
  const token = await knownToken(context, "token", args.token);
  const asked = args.all ? undefined : parseAmount("amount", args.amount, token.decimals, token.symbol);
  await requireMerchant(context);
  const balance: bigint = await context.escrow.balanceOf(context.sender.address, token.address);
  const amount = asked ?? balance;
  if (amount === 0n) throw new OperatorError(`${context.sender.address} has no ${token.symbol} balance to withdraw`);
  if (amount > balance) {
    throw new OperatorError(
      `--amount: ${formatUnits(amount, token.decimals)} ${token.symbol} is more than the balance of ${formatUnits(balance, token.decimals)}`,
    );
  }
  return sendToEscrow(context, "withdraw", [token.address, amount]);
}

export async function refund(
  hre: HardhatRuntimeEnvironment,
  args: CommonOptions & { payment?: string; to?: string; amount?: string },
  out?: (line: string) => void,
) {
  const paymentId = parsePaymentId("payment", args.payment);
  const to = parseAddress("to", args.to);
  const context = await escrowContext(hre, args, out);
  const payment = await context.escrow.paymentOf(paymentId);
  if (Number(payment.status) === 0) throw new OperatorError(`--payment: unknown payment ${paymentId} (the escrow has no deposit for it)`);
  const status = escrowPaymentStatus(payment.status);
  if (status !== "completed" && status !== "partially refunded") {
    throw new OperatorError(`--payment: payment ${paymentId} is ${status}; only a paid payment can be refunded`);
  }
  const token = await tokenAt(context, (await context.escrow.tokenAt(payment.tokenIndex)) as Address);
  const amount = parseAmount("amount", args.amount, token.decimals, token.symbol);
  return sendToEscrow(context, "refund", [paymentId, to, amount]);
}

operatorCommand(
  "withdraw",
  "Send a merchant's balance in a token to its payout wallet (merchant)",
  [["token", "USDT, USDC, BNB or a token address"], ["amount", "Amount in token units, e.g. 12.5 (or --all)"], ...SENDING_OPTIONS],
  withdraw,
  [["all", "Withdraw the whole balance"], ...SENDING_FLAGS],
);

operatorCommand(
  "refund",
  "Refund (part of) a paid payment from the merchant's balance, in the token it was paid in (merchant)",
  [
    ["payment", "Payment id (0x and 64 hex digits)"],
    ["to", "Address that receives the refund"],
    ["amount", "Amount in the payment's token units, e.g. 5"],
    ...SENDING_OPTIONS,
  ],
  refund,
  SENDING_FLAGS,
);
