import { createPublicClient, http, type PublicClient } from "viem";

/**
 * The JSON-RPC providers the indexer reads the chain from (RPC_URLS), one at a time: it stays on the current one
 * and moves to the next when a request fails or an answer proves wrong (`ProviderFault`), so that a provider whose
 * log index lags, or that serves another branch, is left rather than believed. Every move is counted; the indexer
 * checks its checkpoint against the new provider before it reads on (its next segment must link to it by hash).
 */
export class ProviderPool {
  private position = 0;
  private moves = 0;

  constructor(
    readonly clients: readonly PublicClient[],
    /** For logs and metrics: where each client points (no credentials: only the host). */
    readonly names: readonly string[] = clients.map((_, i) => `provider ${i + 1}`),
  ) {
    if (clients.length === 0) throw new Error("RPC_URLS: at least one JSON-RPC URL is needed");
  }

  get current(): PublicClient {
    return this.clients[this.position];
  }

  get currentName(): string {
    return this.names[this.position];
  }

  get size(): number {
    return this.clients.length;
  }

  /** How many times the pool moved to another provider: a change tells the indexer to re-check where it stands. */
  get failovers(): number {
    return this.moves;
  }

  /** Moves to the next provider (round robin); false when there is only one. */
  failover(): boolean {
    if (this.clients.length < 2) return false;
    this.position = (this.position + 1) % this.clients.length;
    this.moves += 1;
    return true;
  }
}

/** The host of a URL, without credentials or path (API keys often sit in either). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * One client per URL. Requests issued together are sent as one JSON-RPC batch (block headers of a range, the
 * receipts of a block), and no client retries by itself: the indexer decides when to wait and when to move on.
 */
export function createProviderPool(urls: readonly string[], { timeoutMs = 10_000 }: { timeoutMs?: number } = {}): ProviderPool {
  if (urls.length === 0) throw new Error("RPC_URLS: at least one JSON-RPC URL is needed");
  for (const url of urls) if (!/^https?:\/\//.test(url)) throw new Error(`RPC_URLS: "${url}" is not an http(s) URL`);
  const clients = urls.map(
    (url) =>
      createPublicClient({
        // A single provider retries once at once: a keep-alive socket the node closed while idle fails the first request on it.
        transport: http(url, {
          timeout: timeoutMs,
          retryCount: urls.length > 1 ? 0 : 1,
          retryDelay: 50,
          batch: { batchSize: 100, wait: 0 },
          maxResponseBodySize: 64 * 1024 * 1024,
        }),
        cacheTime: 0,
        pollingInterval: 50,
      }) as PublicClient,
  );
  return new ProviderPool(clients, urls.map(hostOf));
}
