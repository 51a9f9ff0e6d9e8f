import { openStore, type Store } from "../indexer/src/store/database";
import { startLocalChain, type LocalChain } from "../indexer/test/support/localChain";
import { freshPostgresDatabase } from "../indexer/test/support/stores";

/** Runs a benchmark's `main`: a failure is printed and fails the process (`hardhat run` exits non-zero). */
export function runBenchmark(main: () => Promise<void>): void {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

/**
 * What the API, checkout and dashboard benchmarks stand on: a local chain with the contracts, a fresh PostgreSQL
 * database and the gateway's store on it. `close` takes them down in the reverse order, the database dropped.
 */
export async function chainAndDatabase(): Promise<{ chain: LocalChain; store: Store; databaseUrl: string; close: () => Promise<void> }> {
  const chain = await startLocalChain();
  const database = await freshPostgresDatabase({ empty: true });
  const store = await openStore({ url: database.url });
  return {
    chain,
    store,
    databaseUrl: database.url,
    close: async () => {
      await store.close();
      await database.drop();
      await chain.close();
    },
  };
}
