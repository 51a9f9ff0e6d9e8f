import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { getAddress, type Address, type Hex } from "viem";
import type { PaymentIntent } from "../../indexer/src/payments/paymentIntent";
import { parseAddress } from "./arguments";
import { operatorCommand, SENDING_FLAGS, SENDING_OPTIONS } from "./commandLine";
import { escrowContext, sendToEscrow, type CommonOptions, type EscrowContext } from "./escrowContext";
import { readIntentFile } from "./intentFile";
import { OperatorError } from "./operatorError";
import { escrowPaymentStatus } from "./paymentStatus";
import { knownToken, tokenAt, type KnownToken } from "./tokens";

/** Blocks per eth_getLogs request: within what public BSC endpoints accept. */
const LOG_RANGE = 5_000;

/** Statuses of a payment that was paid: its deposits in the tokens that did not pay it can be refunded at once. */
const PAID = ["completed", "partially refunded", "refunded"];

/** Every (token, payer) that deposited into the payment, from its PaymentDeposited events, tokens in order of first deposit. */
async function depositsByToken(context: EscrowContext, paymentId: Hex, fromBlock: number): Promise<Map<Address, Set<Address>>> {
  const { escrow, hre } = context;
  const head = await hre.ethers.provider.getBlockNumber();
  const byToken = new Map<Address, Set<Address>>();
  for (let start = fromBlock; start <= head; start += LOG_RANGE) {
    const logs = await escrow.queryFilter(escrow.filters.PaymentDeposited(paymentId), start, Math.min(head, start + LOG_RANGE - 1));
    for (const log of logs) {
      const { token, payer } = (log as unknown as { args: { token: string; payer: string } }).args;
      const key = getAddress(token);
      if (!byToken.has(key)) byToken.set(key, new Set());
      byToken.get(key)!.add(getAddress(payer));
    }
  }
  return byToken;
}

/** The payers of `candidates` that still have a deposit in `token` to refund. */
async function holders(context: EscrowContext, paymentId: Hex, token: Address, candidates: Iterable<Address>): Promise<Address[]> {
  const held: Address[] = [];
  for (const payer of candidates) if ((await context.escrow.depositOf(paymentId, token, payer)) > 0n) held.push(payer);
  return held;
}

/** One expire call: the token whose deposits it refunds and whose. */
interface Refund {
  token: KnownToken;
  payers: Address[];
}

/**
 * The expire calls to send. An open payment is expired by the first; an expired one refunds every token its
 * depositors still hold; a paid one, the tokens that did not pay it. `--token` and `--payers` narrow them down.
 */
async function refundsFor(
  context: EscrowContext,
  intent: PaymentIntent,
  status: string,
  paidToken: KnownToken | undefined,
  recordToken: KnownToken,
  options: { token?: KnownToken; listed?: Address[]; fromBlock: number },
): Promise<Refund[]> {
  const { token, listed } = options;
  if (listed && !token && paidToken) {
    throw new OperatorError(`--token is required with --payers: payment ${intent.paymentId} was paid in ${paidToken.symbol}`);
  }
  if (token && paidToken && token.address === paidToken.address) {
    throw new OperatorError(`--token: payment ${intent.paymentId} was paid in ${paidToken.symbol}, which is the merchant's`);
  }
  const found = listed === undefined ? await depositsByToken(context, intent.paymentId, options.fromBlock) : undefined;
  const payersOf = async (of: KnownToken) => listed ?? (await holders(context, intent.paymentId, of.address, found!.get(of.address) ?? []));
  if (token) return [{ token, payers: await payersOf(token) }];

  const candidates: KnownToken[] = [];
  const addresses = found === undefined ? [recordToken.address] : [recordToken.address, ...found.keys()];
  for (const address of new Set(addresses)) {
    if (paidToken && address === paidToken.address) continue;
    candidates.push(address === recordToken.address ? recordToken : await tokenAt(context, address));
  }
  const refunds: Refund[] = [];
  for (const candidate of candidates) {
    const payers = await payersOf(candidate);
    if (payers.length > 0) refunds.push({ token: candidate, payers });
  }
  // An open payment is expired even when no deposit is found to refund (they are refunded later).
  if (status === "open" && (refunds.length === 0 || refunds[0].token.address !== recordToken.address)) {
    refunds.unshift({ token: recordToken, payers: listed === undefined ? await payersOf(recordToken) : listed });
  }
  return refunds;
}

export async function expire(
  hre: HardhatRuntimeEnvironment,
  args: CommonOptions & { intent?: string; token?: string; payers?: string; fromBlock?: string },
  out?: (line: string) => void,
) {
  const { intent } = readIntentFile("intent", args.intent);
  const listed = args.payers?.split(",").map((payer, i) => {
    if (payer.trim() === "") throw new OperatorError(`--payers: entry ${i + 1} is empty`);
    return parseAddress("payers", payer);
  });
  if (args.fromBlock !== undefined && !/^\d+$/.test(args.fromBlock)) {
    throw new OperatorError(`--from-block: "${args.fromBlock}" is not a block number`);
  }
  const context = await escrowContext(hre, args, out);
  const token = args.token === undefined ? undefined : await knownToken(context, "token", args.token);
  const payment = await context.escrow.paymentOf(intent.paymentId);
  const status = escrowPaymentStatus(payment.status);
  if (status === "none") throw new OperatorError(`--intent: unknown payment ${intent.paymentId} (the escrow has no deposit for it)`);
  if (status !== "open" && status !== "expired" && !PAID.includes(status)) {
    throw new OperatorError(`--intent: payment ${intent.paymentId} is ${status}; it cannot be expired`);
  }
  const now = BigInt((await hre.ethers.provider.getBlock("latest"))!.timestamp);
  if (status === "open" && now <= intent.expiry) {
    const at = new Date(Number(intent.expiry) * 1000).toISOString();
    throw new OperatorError(`--intent: payment ${intent.paymentId} is open until ${at} (chain time ${new Date(Number(now) * 1000).toISOString()})`);
  }
  const recordToken = await tokenAt(context, (await context.escrow.tokenAt(payment.tokenIndex)) as Address);
  const paidToken = PAID.includes(status) ? recordToken : undefined;
  const fromBlock = args.fromBlock === undefined ? context.deployment.blockNumber : Number(args.fromBlock);
  const refunds = await refundsFor(context, intent, status, paidToken, recordToken, { token, listed, fromBlock });
  if (refunds.length === 0) {
    throw new OperatorError(`--intent: payment ${intent.paymentId} is ${status}${paidToken ? ` in ${paidToken.symbol}` : ""}; no deposit is left to refund`);
  }
  const receipts = [];
  for (const refund of refunds) {
    const what = `refunding ${refund.payers.length} depositor(s) in ${refund.token.symbol}`;
    context.out(paidToken ? `${intent.paymentId} was paid in ${paidToken.symbol}: ${what}` : `expiring ${intent.paymentId}: ${what}`);
    receipts.push(await sendToEscrow(context, "expire", [intent, refund.token.address, refund.payers]));
  }
  return receipts;
}

operatorCommand(
  "expire",
  "Expire an unpaid payment past its expiry and refund its deposits, or refund the deposits in the tokens that did " +
    "not pay a paid one (anyone; the keeper does this by itself)",
  [
    ["intent", "JSON file with the signed intent ({ intent, signature }), e.g. from simulate --save"],
    ["token", "Refund only deposits in this token: USDT, USDC, BNB or an address (default: every token deposits were found in)"],
    ["payers", "Comma-separated depositors to refund (default: found from the payment's events)"],
    ["fromBlock", "Block to search the payment's deposits from (default: the deployment block)"],
    ...SENDING_OPTIONS,
  ],
  expire,
  SENDING_FLAGS,
);
