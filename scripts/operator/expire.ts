import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Address, Hex } from "viem";
import { parseAddress } from "./arguments";
import { operatorCommand, SENDING_FLAGS, SENDING_OPTIONS } from "./commandLine";
import { escrowContext, sendToEscrow, type CommonOptions, type EscrowContext } from "./escrowContext";
import { readIntentFile } from "./intentFile";
import { OperatorError } from "./operatorError";
import { escrowPaymentStatus } from "./paymentStatus";

/** Blocks per eth_getLogs request: within what public BSC endpoints accept. */
const LOG_RANGE = 5_000;

/** Everyone with a deposit still held for the payment, from its PaymentDeposited events. */
async function depositors(context: EscrowContext, paymentId: Hex, fromBlock: number): Promise<Address[]> {
  const { escrow, hre } = context;
  const head = await hre.ethers.provider.getBlockNumber();
  const payers = new Set<Address>();
  for (let start = fromBlock; start <= head; start += LOG_RANGE) {
    const logs = await escrow.queryFilter(escrow.filters.PaymentDeposited(paymentId), start, Math.min(head, start + LOG_RANGE - 1));
    for (const log of logs) payers.add((log as unknown as { args: { payer: Address } }).args.payer);
  }
  const held: Address[] = [];
  for (const payer of payers) if ((await escrow.depositOf(paymentId, payer)) > 0n) held.push(payer);
  return held;
}

export async function expire(
  hre: HardhatRuntimeEnvironment,
  args: CommonOptions & { intent?: string; payers?: string; fromBlock?: string },
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
  const payment = await context.escrow.paymentOf(intent.paymentId);
  const status = escrowPaymentStatus(payment.status);
  if (status === "none") throw new OperatorError(`--intent: unknown payment ${intent.paymentId} (the escrow has no deposit for it)`);
  if (status !== "open" && status !== "expired") {
    throw new OperatorError(`--intent: payment ${intent.paymentId} is ${status}; only an open or expired payment can be expired`);
  }
  const now = BigInt((await hre.ethers.provider.getBlock("latest"))!.timestamp);
  if (status === "open" && now <= intent.expiry) {
    const at = new Date(Number(intent.expiry) * 1000).toISOString();
    throw new OperatorError(`--intent: payment ${intent.paymentId} is open until ${at} (chain time ${new Date(Number(now) * 1000).toISOString()})`);
  }
  const fromBlock = args.fromBlock === undefined ? context.deployment.blockNumber : Number(args.fromBlock);
  const payers = listed ?? (await depositors(context, intent.paymentId, fromBlock));
  context.out(`expiring ${intent.paymentId}: refunding ${payers.length} depositor(s)`);
  return sendToEscrow(context, "expire", [intent, payers]);
}

operatorCommand(
  "expire",
  "Expire an unpaid payment past its expiry and refund its deposits (anyone; the keeper does this by itself)",
  [
    ["intent", "JSON file with the signed intent ({ intent, signature }), e.g. from simulate --save"],
    ["payers", "Comma-separated depositors to refund (default: found from the payment's events)"],
    ["fromBlock", "Block to search the payment's deposits from (default: the deployment block)"],
    ...SENDING_OPTIONS,
  ],
  expire,
  SENDING_FLAGS,
);
