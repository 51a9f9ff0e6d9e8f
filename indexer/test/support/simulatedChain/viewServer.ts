import type http from "node:http";
import { readBody, startLocalHttpServer, type LocalHttpServer } from "../localHttpServer";
import { ChainView, type ViewFaults, type ViewShape, type ViewStats } from "./chainView";
import { RpcError } from "./rpcError";
import { answerMethod } from "./rpcMethods";
import type { SimulatedChain } from "./simulatedChain";

/** A view of a simulated chain and its faults; see `ViewShape`, `ViewFaults`. */
export interface ViewOptions extends ViewShape {
  /** Seeds the view's generator (subsets, fault probabilities); 1 by default. */
  seed?: number;
  faults?: ViewFaults;
}

interface JsonRpcCall {
  jsonrpc?: string;
  id?: number | string | null;
  method?: unknown;
  params?: unknown;
}

interface JsonRpcAnswer {
  jsonrpc: "2.0";
  id: number | string | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/**
 * One view of a simulated chain served over HTTP JSON-RPC on 127.0.0.1 at its own URL (a provider of its own, to
 * put in RPC_URLS), single calls and batches. Answers are computed from the chain as it is when the request arrives.
 */
export class ServedView {
  private readonly closeListeners: Array<() => void> = [];
  private closed?: Promise<void>;
  private server!: LocalHttpServer;

  private constructor(readonly view: ChainView) {}

  static async start(chain: SimulatedChain, options: ViewOptions): Promise<ServedView> {
    const { seed = 1, faults, ...shape } = options;
    const served = new ServedView(new ChainView(chain, shape, seed, faults));
    served.server = await startLocalHttpServer("simulated chain", (request, response) => served.handle(request, response));
    return served;
  }

  get url(): string {
    return this.server.url;
  }

  /** What the view answered: calls per method, faults injected. */
  get stats(): ViewStats {
    return this.view.stats;
  }

  /** Faults injected so far, of every kind. */
  get faultCount(): number {
    return Object.values(this.view.stats.faults).reduce((a, b) => a + b, 0);
  }

  /** Changes how the view's chain is made (branch, lag, log lag); the other fields are kept. */
  configure(changes: ViewShape): void {
    this.view.configure(changes);
  }

  /** Replaces the view's faults (`{}` clears them). */
  setFaults(faults: ViewFaults): void {
    this.view.setFaults(faults);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** Stops serving: open connections are cut, new ones refused. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = this.server.close();
      for (const listener of this.closeListeners) listener();
    }
    return this.closed;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const text = await readBody(request);
    const { stats } = this.view;
    stats.requests += 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.send(response, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
    }
    const isBatch = Array.isArray(parsed);
    const calls = (isBatch ? parsed : [parsed]) as JsonRpcCall[];
    if (isBatch) stats.batches += 1;
    if (calls.length === 0) return this.send(response, { jsonrpc: "2.0", id: null, error: { code: -32600, message: "empty batch" } });
    stats.calls += calls.length;
    const methods = calls.map((call) => String(call?.method));
    for (const method of methods) stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;

    // One HTTP 503 answers the whole request, whichever of its calls it was meant for.
    if (methods.some((method) => this.view.failureFor(method, "http-503"))) {
      stats.faults.http503 += 1;
      response.writeHead(503, { "content-type": "text/html" });
      response.end("Service Temporarily Unavailable");
      return;
    }
    const answers = calls.map((call) => this.answer(call));
    this.send(response, isBatch ? answers : answers[0]);
  }

  private answer(call: JsonRpcCall): JsonRpcAnswer {
    const id = call?.id ?? null;
    if (call === null || typeof call !== "object" || typeof call.method !== "string") {
      return { jsonrpc: "2.0", id, error: { code: -32600, message: "invalid request" } };
    }
    const failure = this.view.failureFor(call.method, "rpc-error");
    if (failure) {
      this.view.stats.faults.rpcErrors += 1;
      return { jsonrpc: "2.0", id, error: { code: failure.code ?? -32000, message: failure.message ?? "internal error" } };
    }
    try {
      const params = Array.isArray(call.params) ? call.params : [];
      return { jsonrpc: "2.0", id, result: answerMethod(this.view, call.method, params) };
    } catch (error) {
      if (error instanceof RpcError)
        return { jsonrpc: "2.0", id, error: { code: error.code, message: error.message, ...(error.data === undefined ? {} : { data: error.data }) } };
      // A bug of the simulator, not a node's answer: say so plainly in the error.
      return { jsonrpc: "2.0", id, error: { code: -32603, message: `simulated chain: ${(error as Error).stack ?? String(error)}` } };
    }
  }

  private send(response: http.ServerResponse, body: unknown): void {
    if (response.destroyed) return;
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(body));
  }
}
