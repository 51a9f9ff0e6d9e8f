import type { Logger } from "pino";
import { startStatusServer, type StatusSource } from "./statusServer";

/** Serves /metrics and /health on `port`; returns what closes the server. */
export async function startObservability(source: StatusSource & { port: number; logger: Logger }): Promise<() => Promise<void>> {
  const status = await startStatusServer(source, source.port);
  source.logger.info({ port: status.port }, "serving /metrics and /health");
  // Not awaited: a scraper's keep-alive connection must not hold the process's exit.
  return async () => void status.server.close();
}
