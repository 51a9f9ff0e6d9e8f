import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A real HTTP JSON-RPC proxy in front of a node that misbehaves the way hosted providers do: it drops connections,
 * answers late, answers HTTP 429 and 5xx, answers JSON-RPC errors, and refuses `eth_getLogs` queries over too many
 * blocks or with too many results. What it does is decided by a seeded generator (reproducible), by a script of the
 * n-th call of a method, or by rules that always apply; every decision is counted.
 */

/** What the proxy does to one HTTP request. */
export type Fault =
  /** The socket is destroyed before the request reaches the node. */
  | { kind: "drop" }
  /** The node answers, then the socket is destroyed before the answer leaves: the client never learns the result. */
  | { kind: "drop-after-answer" }
  /** The node's answer is held for `ms` (longer than the client's timeout makes a timeout). */
  | { kind: "delay"; ms: number }
  /** An HTTP error status with a provider-like body, without asking the node. */
  | { kind: "http"; status: 429 | 500 | 502 | 503; retryAfterSeconds?: number }
  /** HTTP 200 with a JSON-RPC error for every call of the request, without asking the node. */
  | { kind: "rpc-error"; code: number; message: string };

export interface FaultRule {
  /** JSON-RPC methods the rule applies to (a batch matches when any of its calls does); all when absent. */
  methods?: readonly string[];
  /** Chance per HTTP request, drawn from the seeded generator; 1 applies it always. */
  probability: number;
  fault: Fault;
}

/** A fault for exactly the `nth` (from 1) HTTP request carrying `method` (any method when absent). */
export interface ScriptedFault {
  method?: string;
  nth: number;
  fault: Fault;
}

export interface LogLimit {
  /** The refusal's JSON-RPC error code (providers use -32000, -32005, -32602, -32614…). */
  code?: number;
  /** The refusal's message; `{limit}` is replaced by the limit. */
  message?: string;
}

export interface ProxyOptions {
  /** The node's JSON-RPC URL. */
  upstream: string;
  /** Seeds the generator behind `rules` (printed by the tests that use it). */
  seed?: number;
  /** Scripted faults win over `rules`. */
  script?: readonly ScriptedFault[];
  /** Drawn in order; the first that fires decides the request. */
  rules?: readonly FaultRule[];
  /** `eth_getLogs` over more than `blocks` blocks (fromBlock..toBlock) is refused. */
  maxLogBlocks?: LogLimit & { blocks: number };
  /** `eth_getLogs` whose answer would hold more than `results` logs is refused (the node is asked first). */
  maxLogResults?: LogLimit & { results: number };
}

interface JsonRpcCall {
  jsonrpc?: string;
  id?: number | string | null;
  method?: string;
  params?: unknown[];
}

interface JsonRpcAnswer {
  jsonrpc: "2.0";
  id: number | string | null;
  result?: unknown;
  error?: { code: number; message: string };
}

export interface ProxyStats {
  /** HTTP requests received. */
  requests: number;
  /** JSON-RPC calls received (each call of a batch counts). */
  calls: number;
  /** HTTP requests that were JSON-RPC batches. */
  batches: number;
  /** Calls the node answered (whatever happened to the answer then). */
  forwarded: number;
  /** Calls per method, as received. */
  byMethod: Record<string, number>;
  dropped: number;
  droppedAfterAnswer: number;
  delayed: number;
  /** HTTP error answers by status. */
  http: Record<number, number>;
  /** Calls answered with an injected JSON-RPC error. */
  rpcErrors: number;
  /** eth_getLogs calls refused as too wide or too large. */
  refusedLogQueries: number;
}

/** An `eth_getLogs` by block numbers that reached the proxy's decision: refused, or answered by the node. */
export interface LogQuery {
  from: number;
  to: number;
  refused: boolean;
  /** Logs in the node's answer (when it was not refused). */
  logs?: number;
  /** What happened to the answer on its way back: held, or lost with its connection. */
  fault?: "delay" | "drop-after-answer";
}

const RANGE_MESSAGE = "query exceeds max block range {limit}";
const RESULTS_MESSAGE = "query returned more than {limit} results";

const STATUS_BODIES: Record<number, string> = {
  429: JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: 429, message: "Too Many Requests" } }),
  500: "Internal Server Error",
  502: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
  503: "Service Temporarily Unavailable",
};

/** mulberry32: a small seeded generator, uniform on [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const emptyStats = (): ProxyStats => ({
  requests: 0,
  calls: 0,
  batches: 0,
  forwarded: 0,
  byMethod: {},
  dropped: 0,
  droppedAfterAnswer: 0,
  delayed: 0,
  http: {},
  rpcErrors: 0,
  refusedLogQueries: 0,
});

const blockNumber = (value: unknown): number | undefined =>
  typeof value === "string" && /^0x[0-9a-f]+$/i.test(value) ? Number(BigInt(value)) : undefined;

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

export class FaultyRpcProxy {
  readonly stats: ProxyStats = emptyStats();
  readonly logQueries: LogQuery[] = [];
  private options: ProxyOptions;
  private random: () => number;
  private readonly nthOfMethod = new Map<string, number>();
  private readonly pending: Fault[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    options: ProxyOptions,
  ) {
    this.options = options;
    this.random = seededRandom(options.seed ?? 1);
  }

  /** Starts a proxy on 127.0.0.1 at a free port. */
  static async start(options: ProxyOptions): Promise<FaultyRpcProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const proxy = new FaultyRpcProxy(server, `http://127.0.0.1:${port}`, options);
    server.on("connection", (socket) => {
      proxy.sockets.add(socket);
      socket.on("close", () => proxy.sockets.delete(socket));
    });
    server.on("request", (request, response) => {
      proxy.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent && !response.destroyed) {
          response.writeHead(500, { "content-type": "text/plain" });
          response.end(`proxy failure: ${(error as Error).message}`);
        }
      });
    });
    return proxy;
  }

  /** Changes the faults from now on (the counters and the generator's position are kept). */
  configure(changes: Partial<Omit<ProxyOptions, "upstream" | "seed">>): void {
    this.options = { ...this.options, ...changes };
  }

  /** Faults injected so far, of every kind. */
  get faults(): number {
    const s = this.stats;
    return s.dropped + s.droppedAfterAnswer + s.delayed + s.rpcErrors + s.refusedLogQueries + Object.values(s.http).reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await done;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /**
   * The fault for a request with these methods: scripted first (when two scripted faults fall on the same request,
   * the later one moves to the next request, so that none is lost), then the seeded rules.
   */
  private decide(methods: readonly string[]): Fault | undefined {
    const nth = new Map<string, number>();
    for (const key of new Set(["*", ...methods])) {
      const n = (this.nthOfMethod.get(key) ?? 0) + 1;
      this.nthOfMethod.set(key, n);
      nth.set(key, n);
    }
    for (const entry of this.options.script ?? []) {
      if (nth.get(entry.method ?? "*") === entry.nth) this.pending.push(entry.fault);
    }
    const scripted = this.pending.shift();
    if (scripted) return scripted;
    for (const rule of this.options.rules ?? []) {
      if (rule.methods && !methods.some((method) => rule.methods!.includes(method))) continue;
      if (rule.probability >= 1 || this.random() < rule.probability) return rule.fault;
    }
    return undefined;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const text = await readBody(request);
    this.stats.requests += 1;
    let parsed: JsonRpcCall | JsonRpcCall[];
    try {
      parsed = JSON.parse(text) as JsonRpcCall | JsonRpcCall[];
    } catch {
      response.writeHead(400, { "content-type": "application/json" });
      response.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }));
      return;
    }
    const isBatch = Array.isArray(parsed);
    const calls = isBatch ? (parsed as JsonRpcCall[]) : [parsed as JsonRpcCall];
    if (isBatch) this.stats.batches += 1;
    this.stats.calls += calls.length;
    for (const call of calls) {
      const method = String(call.method);
      this.stats.byMethod[method] = (this.stats.byMethod[method] ?? 0) + 1;
    }

    const fault = this.decide(calls.map((call) => String(call.method)));
    if (fault?.kind === "drop") {
      this.stats.dropped += 1;
      request.socket.destroy();
      return;
    }
    if (fault?.kind === "http") {
      this.stats.http[fault.status] = (this.stats.http[fault.status] ?? 0) + 1;
      const headers: http.OutgoingHttpHeaders = { "content-type": fault.status === 429 ? "application/json" : "text/html" };
      if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
      response.writeHead(fault.status, headers);
      response.end(STATUS_BODIES[fault.status]);
      return;
    }
    if (fault?.kind === "rpc-error") {
      this.stats.rpcErrors += calls.length;
      const answers = calls.map((call) => ({ jsonrpc: "2.0" as const, id: call.id ?? null, error: { code: fault.code, message: fault.message } }));
      this.send(response, isBatch ? answers : answers[0]);
      return;
    }

    const answers = await this.answer(calls, fault?.kind === "delay" || fault?.kind === "drop-after-answer" ? fault.kind : undefined);
    if (fault?.kind === "delay") {
      this.stats.delayed += 1;
      await this.wait(fault.ms);
      if (this.closed) return;
    }
    if (fault?.kind === "drop-after-answer") {
      this.stats.droppedAfterAnswer += 1;
      request.socket.destroy();
      return;
    }
    if (response.destroyed || request.socket.destroyed) return;
    this.send(response, isBatch ? answers : answers[0]);
  }

  private send(response: http.ServerResponse, body: unknown): void {
    if (response.destroyed) return;
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(body));
  }

  private refusal(limit: LogLimit, value: number, fallbackMessage: string, fallbackCode: number): { code: number; message: string } {
    this.stats.refusedLogQueries += 1;
    return { code: limit.code ?? fallbackCode, message: (limit.message ?? fallbackMessage).replace("{limit}", String(value)) };
  }

  /** Answers the calls: refused log queries here, the others by the node (as one batch when there are several). */
  private async answer(calls: readonly JsonRpcCall[], fault?: LogQuery["fault"]): Promise<JsonRpcAnswer[]> {
    const answers: Array<JsonRpcAnswer | undefined> = calls.map(() => undefined);
    const ask: number[] = [];
    calls.forEach((call, i) => {
      const query = call.method === "eth_getLogs" ? this.logRange(call) : undefined;
      const { maxLogBlocks } = this.options;
      if (query && maxLogBlocks && query.to - query.from + 1 > maxLogBlocks.blocks) {
        this.logQueries.push({ ...query, refused: true });
        answers[i] = { jsonrpc: "2.0", id: call.id ?? null, error: this.refusal(maxLogBlocks, maxLogBlocks.blocks, RANGE_MESSAGE, -32000) };
        return;
      }
      ask.push(i);
    });
    if (ask.length > 0) {
      const upstream = await this.forward(ask.map((i) => calls[i]));
      ask.forEach((i, k) => {
        let answer = upstream[k];
        const query = calls[i].method === "eth_getLogs" ? this.logRange(calls[i]) : undefined;
        const { maxLogResults } = this.options;
        if (maxLogResults && calls[i].method === "eth_getLogs" && Array.isArray(answer.result) && answer.result.length > maxLogResults.results) {
          answer = { jsonrpc: "2.0", id: calls[i].id ?? null, error: this.refusal(maxLogResults, maxLogResults.results, RESULTS_MESSAGE, -32005) };
          if (query) this.logQueries.push({ ...query, refused: true });
        } else if (query) {
          const logs = Array.isArray(answer.result) ? answer.result.length : undefined;
          this.logQueries.push({ ...query, refused: answer.error !== undefined, ...(logs === undefined ? {} : { logs }), ...(fault ? { fault } : {}) });
        }
        answers[i] = answer;
      });
    }
    return answers as JsonRpcAnswer[];
  }

  private logRange(call: JsonRpcCall): { from: number; to: number } | undefined {
    const filter = (call.params?.[0] ?? {}) as { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown };
    if (filter.blockHash !== undefined) return undefined;
    const from = blockNumber(filter.fromBlock);
    const to = blockNumber(filter.toBlock);
    return from === undefined || to === undefined ? undefined : { from, to };
  }

  /** Sends calls to the node; answers come back in the calls' order. */
  private async forward(calls: readonly JsonRpcCall[]): Promise<JsonRpcAnswer[]> {
    const response = await fetch(this.options.upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(calls.length === 1 ? calls[0] : calls),
    });
    const body = (await response.json()) as JsonRpcAnswer | JsonRpcAnswer[];
    this.stats.forwarded += calls.length;
    if (calls.length === 1) return [Array.isArray(body) ? body[0] : body];
    const byId = new Map((body as JsonRpcAnswer[]).map((answer) => [answer.id, answer]));
    return calls.map(
      (call) => byId.get(call.id ?? null) ?? { jsonrpc: "2.0", id: call.id ?? null, error: { code: -32603, message: "no answer from the node" } },
    );
  }
}

/** A URL on 127.0.0.1 where nothing listens: connections are refused. */
export async function refusedUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
