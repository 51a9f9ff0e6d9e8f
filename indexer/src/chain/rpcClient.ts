import { createPublicClient, fallback, http, type PublicClient } from "viem";

/**
 * A viem client over one or more JSON-RPC URLs: requests go to the first URL and fail over to the next when it
 * errors or times out. A single URL retries twice at once (a keep-alive socket the node closed while idle fails
 * the first request on it); longer outages are the caller's to wait out (see retry.ts), so that one place decides
 * when to wait and what to count.
 */
export function createRpcClient(urls: readonly string[], { timeoutMs = 10_000 }: { timeoutMs?: number } = {}): PublicClient {
  if (urls.length === 0) throw new Error("RPC_URLS: at least one JSON-RPC URL is needed");
  for (const url of urls) if (!/^https?:\/\//.test(url)) throw new Error(`RPC_URLS: "${url}" is not an http(s) URL`);
  // With several URLs a failure moves to the next one at once instead of retrying a dead node.
  const retryCount = urls.length > 1 ? 0 : 2;
  // Providers cap their own responses; viem's default cap of 10 MB would refuse ~20,000 logs a local node returns.
  const transports = urls.map((url) => http(url, { timeout: timeoutMs, retryCount, retryDelay: 50, maxResponseBodySize: 64 * 1024 * 1024 }));
  return createPublicClient({
    transport: transports.length === 1 ? transports[0] : fallback(transports, { retryCount: 0 }),
    // Blocks are fetched by the indexer itself; viem's own polling and caching would only add latency.
    cacheTime: 0,
    pollingInterval: 50,
  }) as PublicClient;
}
