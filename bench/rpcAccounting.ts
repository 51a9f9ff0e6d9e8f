/**
 * What the indexer asks of its provider during a benchmark run: calls and time spent waiting for them, by what they
 * are for. The indexer's checks (headers linked by hash, receipts where a bloom doubts an answer, the escrow's record
 * before a settlement, BNB balances) each have their methods, so their cost shows here.
 */
import { createPublicClient, custom, http, type PublicClient } from "viem";
import { ProviderPool } from "../indexer/src/chain/providerPool";

/** What a method is for, in the indexer. */
const PURPOSES: Record<string, string> = {
  eth_getBlockByNumber: "headers (hash links, blooms, the ancestor check)",
  eth_getBlockByHash: "receipts (bloom doubts)",
  eth_getLogs: "logs",
  eth_getBlockReceipts: "receipts (bloom doubts)",
  eth_getTransactionReceipt: "receipts (bloom doubts)",
  eth_call: "escrow record and deposit balances",
  eth_blockNumber: "head",
};

export interface RpcAccount {
  purpose: string;
  calls: number;
  /** Summed wait of the calls (concurrent calls overlap: this is load on the provider, not wall time). */
  ms: number;
}

/** A provider pool over `url` whose client counts and times every call. */
export function accountedProviders(url: string): { pool: ProviderPool; accounts: () => RpcAccount[]; reset: () => void } {
  const byPurpose = new Map<string, RpcAccount>();
  const inner = http(url, { batch: { batchSize: 100, wait: 0 }, retryCount: 1, maxResponseBodySize: 64 * 1024 * 1024 })({ retryCount: 0 });
  const transport = custom({
    async request({ method, params }: { method: string; params?: unknown }) {
      const started = performance.now();
      try {
        return await inner.request({ method, params } as never);
      } finally {
        const purpose = PURPOSES[method] ?? method;
        const account = byPurpose.get(purpose) ?? { purpose, calls: 0, ms: 0 };
        account.calls += 1;
        account.ms += performance.now() - started;
        byPurpose.set(purpose, account);
      }
    },
  });
  const client = createPublicClient({ transport, cacheTime: 0, pollingInterval: 50 }) as PublicClient;
  return {
    pool: new ProviderPool([client], [new URL(url).host]),
    accounts: () => [...byPurpose.values()].sort((a, b) => b.ms - a.ms),
    reset: () => byPurpose.clear(),
  };
}
