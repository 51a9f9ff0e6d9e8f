/**
 * The main job for now: runs Open Pay's escrow on Hardhat's in-process chain and walks through
 * the payments a merchant sees (paid in full, underpaid then topped up, overpaid, expired with a
 * refund, a merchant refund and a withdrawal), printing what the chain recorded for each.
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { deployEscrow, NATIVE, TOKENS, USD } from "../test/support/fixture";

const STATUS = ["none", "open", "completed", "expired", "partially refunded", "refunded"];
const usd = (wad: bigint) => `$${ethers.formatUnits(wad, 18)}`;

async function main() {
  console.log("Deploying the escrow, USDT, USDC and Chainlink mock feeds (USDT $1, USDC $1, BNB $600)...");
  const f = await deployEscrow();
  const { escrow, usdt, usdc, customer, other, merchant, payout } = f;
  const [usdtAddress, usdcAddress] = [await usdt.getAddress(), await usdc.getAddress()];
  console.log(`escrow ${await escrow.getAddress()}, merchant ${merchant.address}\n`);

  const rows: Array<Record<string, string>> = [];
  async function record(scenario: string, intent: { paymentId: string; amountUsd: bigint }) {
    const payment = await escrow.paymentOf(intent.paymentId);
    rows.push({
      scenario,
      status: STATUS[Number(payment.status)],
      price: usd(intent.amountUsd),
      received: usd(payment.receivedUsd),
      "refunded by merchant": ethers.formatUnits(await escrow.refundedOf(intent.paymentId), 18),
    });
  }

  const full = await f.signed({ amountUsd: USD("25") });
  await escrow.connect(customer).pay(full.intent, full.signature, usdtAddress, TOKENS("25"));
  await record("paid in full (USDT)", full.intent);

  const partial = await f.signed({ amountUsd: USD("40") });
  await escrow.connect(customer).pay(partial.intent, partial.signature, usdcAddress, TOKENS("15"));
  console.log(`underpaid: ${usd(await escrow.remainingUsd(partial.intent))} still due; topping up from another wallet`);
  await escrow.connect(other).pay(partial.intent, partial.signature, usdcAddress, TOKENS("25"));
  await record("underpaid, then topped up (USDC)", partial.intent);

  const over = await f.signed({ amountUsd: USD("300") });
  await escrow.connect(customer).payNative(over.intent, over.signature, { value: TOKENS("0.6") });
  await record("overpaid (BNB)", over.intent);

  const late = await f.signed({ amountUsd: USD("80") });
  await escrow.connect(customer).pay(late.intent, late.signature, usdtAddress, TOKENS("30"));
  await time.increaseTo(late.intent.expiry + 1n);
  await escrow.connect(other).expire(late.intent, [customer.address]);
  await record("underpaid, expired, deposit refunded (USDT)", late.intent);

  await escrow.connect(merchant).refund(full.intent.paymentId, customer.address, TOKENS("5"));
  await record("paid, then $5 refunded by the merchant", full.intent);

  console.table(rows);

  const balances = {
    USDT: await escrow.balanceOf(merchant.address, usdtAddress),
    USDC: await escrow.balanceOf(merchant.address, usdcAddress),
    BNB: await escrow.balanceOf(merchant.address, NATIVE),
  };
  console.log("merchant balances held by the escrow:", Object.fromEntries(
    Object.entries(balances).map(([token, amount]) => [token, ethers.formatUnits(amount, 18)]),
  ));
  await escrow.connect(merchant).withdraw(usdcAddress, balances.USDC);
  console.log(`withdrew ${ethers.formatUnits(balances.USDC, 18)} USDC to the payout wallet ${payout.address}`);
  console.log(`payout wallet now holds ${ethers.formatUnits(await usdc.balanceOf(payout.address), 18)} USDC`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
