import { expect } from "chai";
import { decodeFunctionData, erc20Abi, zeroAddress, type Address, type Hex } from "viem";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import type { PaymentIntent } from "../payments/paymentIntent";
import { walletPayment } from "./walletPayment";

const ESCROW: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const USDT = { symbol: "USDT", address: "0x55d398326f99059fF775485246999027B3197955" as Address, decimals: 18 };
const BNB = { symbol: "BNB", address: zeroAddress as Address, decimals: 18 };
const INTENT: PaymentIntent = {
  paymentId: `0x${"ab".repeat(32)}`,
  merchant: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  amountUsd: 25n * 10n ** 18n,
  expiry: 1_800_000_000n,
  refundTo: zeroAddress,
  acceptedTokens: 0b1010n,
};
const SIGNATURE: Hex = `0x${"cd".repeat(65)}`;

describe("walletPayment", function () {
  it("pays a token with the escrow's pay after an approval of exactly the amount", function () {
    const plan = walletPayment({ chainId: 56, escrow: ESCROW, intent: INTENT, signature: SIGNATURE, token: USDT, amount: 25_000001n * 10n ** 12n });
    expect(plan).to.deep.include({ chain_id: 56, amount: "25.000001", amount_units: "25000001000000000000" });
    expect(plan.approve).to.include({ to: USDT.address, spender: ESCROW, value: "0" });
    expect(decodeFunctionData({ abi: erc20Abi, data: plan.approve!.data })).to.deep.equal({ functionName: "approve", args: [ESCROW, 25_000001n * 10n ** 12n] });
    expect(plan.pay).to.include({ to: ESCROW, value: "0" });
    const pay = decodeFunctionData({ abi: openPayEscrowAbi, data: plan.pay.data });
    expect(pay.functionName).to.equal("pay");
    expect(pay.args).to.deep.equal([INTENT, SIGNATURE, USDT.address, 25_000001n * 10n ** 12n, zeroAddress]);
  });

  it("pays BNB with payNative, the amount as value and no approval", function () {
    const plan = walletPayment({ chainId: 97, escrow: ESCROW, intent: INTENT, signature: SIGNATURE, token: BNB, amount: 41_666667n * 10n ** 9n });
    expect(plan.approve).to.equal(null);
    expect(plan.pay).to.include({ to: ESCROW, value: "41666667000000000" });
    expect(decodeFunctionData({ abi: openPayEscrowAbi, data: plan.pay.data })).to.deep.equal({
      functionName: "payNative",
      args: [INTENT, SIGNATURE, zeroAddress],
    });
  });
});
