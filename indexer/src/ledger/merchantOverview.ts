import { readCheckpoint } from "../store/checkpointStore";
import { paymentTallies } from "../store/paymentTallies";
import type { GatewayContext } from "./gatewayContext";
import { overviewFigures, overviewWindow, type OverviewFigures } from "./overviewFigures";

/** How long the page waits for the chain's head before it says it could not read it. */
const HEAD_WAIT_MS = 3000;

/** Whether the statuses the merchant sees are current: the indexer's last block, and the chain's. */
export interface IndexerHealth {
  /** The last block the indexer recorded, and its time (unix seconds); absent before its first. */
  checkpoint?: { blockNumber: number; timestamp: bigint };
  /** The chain's head, when it could be read. */
  head?: bigint;
  /** Why the head could not be read. */
  headError?: string;
}

/** The merchant's figures of today and the last 30 days (ledger/overviewFigures.ts), of this gateway's chain and mode. */
export async function merchantOverview(context: Pick<GatewayContext, "db" | "chainId" | "mode">, merchantId: string, now: Date): Promise<OverviewFigures> {
  const tallies = await paymentTallies(context.db, { chainId: context.chainId, merchantId, mode: context.mode, ...overviewWindow(now) });
  return overviewFigures(tallies, now);
}

/** The indexer's checkpoint and the chain's head; an unreadable head is told, never thrown (the page still shows). */
export async function indexerHealth(context: Pick<GatewayContext, "db" | "chainId" | "client">): Promise<IndexerHealth> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HEAD_WAIT_MS / 1000} s`)), HEAD_WAIT_MS);
  });
  const [checkpoint, head] = await Promise.all([
    readCheckpoint(context.db, context.chainId),
    Promise.race([context.client.getBlockNumber({ cacheTime: 0 }), waited]).then(
      (number) => ({ number }),
      (error: unknown) => ({ error: ((error as { shortMessage?: string }).shortMessage ?? (error as Error).message).split("\n")[0] }),
    ),
  ]).finally(() => clearTimeout(timer));
  return {
    ...(checkpoint ? { checkpoint: { blockNumber: checkpoint.blockNumber, timestamp: checkpoint.timestamp } } : {}),
    ...("number" in head ? { head: head.number } : { headError: head.error }),
  };
}
