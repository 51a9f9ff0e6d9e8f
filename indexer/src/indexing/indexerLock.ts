import pg from "pg";

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
 * once held; `waiting` is called each time another holder is found.
 */
export async function acquireIndexerLock(
  url: string,
  chainId: number,
  { retryMs = 1_000, waiting, signal }: { retryMs?: number; waiting?: () => void; signal?: AbortSignal } = {},
): Promise<IndexerLock> {
  const client = new pg.Client({ connectionString: url, application_name: `openpay-indexer-${chainId}` });
  const lost = new AbortController();
  client.on("error", () => lost.abort(new Error("the indexer lock's database session failed")));
  client.on("end", () => lost.abort(new Error("the indexer lock's database session ended")));
  await client.connect();
  for (;;) {
    const { rows } = await client.query<{ held: boolean }>("select pg_try_advisory_lock($1, $2) as held", [LOCK_CLASS, chainId]);
    if (rows[0].held) break;
    waiting?.();
    if (signal?.aborted) {
      await client.end();
      throw new Error("stopped while waiting for the indexer lock");
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
  return {
    lost: lost.signal,
    release: async () => {
      if (lost.signal.aborted) return;
      await client.query("select pg_advisory_unlock($1, $2)", [LOCK_CLASS, chainId]);
      await client.end();
    },
  };
}
