import pg from "pg";
import { sleep } from "../chain/retry";

/** First key of the advisory lock ("OP"); the second is the chain id, so each chain has its own indexer. */
const LOCK_CLASS = 0x4f50;

export interface IndexerLock {
  /** Aborted when the lock's session ends (the database went away): the holder must stop indexing at once. */
  lost: AbortSignal;
  release(): Promise<void>;
}

/**
 * Takes the chain's indexer lock, a PostgreSQL session-level advisory lock: one indexer per chain is active, others
 * wait here and take over when the holder's session ends (its process died, or it lost the database). Resolves
 * once held, or with undefined when `signal` aborts first; `waiting` is called once, when another holder is found.
 */
export async function acquireIndexerLock(
  url: string,
  chainId: number,
  { retryMs = 1_000, waiting, signal }: { retryMs?: number; waiting?: () => void; signal?: AbortSignal } = {},
): Promise<IndexerLock | undefined> {
  const client = new pg.Client({ connectionString: url, application_name: `openpay-indexer-${chainId}` });
  const lost = new AbortController();
  let releasing = false;
  client.on("error", () => lost.abort(new Error("the indexer lock's database session failed")));
  client.on("end", () => {
    if (!releasing) lost.abort(new Error("the indexer lock's database session ended"));
  });
  await client.connect();
  for (let attempt = 0; ; attempt++) {
    const { rows } = await client.query<{ held: boolean }>("select pg_try_advisory_lock($1, $2) as held", [LOCK_CLASS, chainId]);
    if (rows[0].held) break;
    if (attempt === 0) waiting?.();
    await sleep(retryMs, signal);
    if (signal?.aborted) {
      await client.end();
      return undefined;
    }
  }
  return {
    lost: lost.signal,
    release: async () => {
      if (lost.signal.aborted) return;
      releasing = true;
      await client.query("select pg_advisory_unlock($1, $2)", [LOCK_CLASS, chainId]);
      await client.end();
    },
  };
}
