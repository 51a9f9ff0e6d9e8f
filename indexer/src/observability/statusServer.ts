import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export interface StatusSource {
  registry: Registry;
  /** The chain's head, the last committed block and the lag between them. */
  position(): { head: number; indexed: number; lag: number };
  maxLagBlocks: number;
  /** False while this process waits for another indexer's lock (a standby is healthy but not indexing). */
  active(): boolean;
}

/**
 * `/metrics` in Prometheus's text format and `/health`: 200 while the indexer is within `maxLagBlocks` of the
 * chain's head, 503 with the reason otherwise, so that an orchestrator restarts or alerts on a stuck indexer.
 */
export async function startStatusServer(source: StatusSource, port: number, host = "127.0.0.1"): Promise<{ server: Server; port: number }> {
  const server = createServer(async (request, response) => {
    if (request.url === "/metrics") {
      response.writeHead(200, { "content-type": source.registry.contentType });
      response.end(await source.registry.metrics());
      return;
    }
    if (request.url === "/health") {
      const position = source.position();
      const active = source.active();
      const healthy = !active || (position.head > 0 && position.lag <= source.maxLagBlocks);
      const body = {
        status: healthy ? "ok" : "lagging",
        role: active ? "active" : "standby",
        ...position,
        maxLagBlocks: source.maxLagBlocks,
        ...(!healthy && {
          reason: position.head === 0 ? "no chain head seen yet" : `${position.lag} blocks behind the head (limit ${source.maxLagBlocks})`,
        }),
      };
      response.writeHead(healthy ? 200 : 503, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
      return;
    }
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: `no such path: ${request.url}; try /health or /metrics` }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : port };
}
