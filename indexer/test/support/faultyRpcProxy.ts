import type http from "node:http";
import { readBody, startLocalHttpServer, type LocalHttpServer } from "./localHttpServer";
import {
  askNode,
  byPosition,
  ChainRecording,
  isBlock,
  toHex,
  type CanonicalHashes,
  type JsonRpcAnswer,
  type JsonRpcCall,
  type LogSelection,
  type RpcLog,
} from "./chainRecording";

/**
 * A real HTTP JSON-RPC proxy in front of a node that misbehaves the way hosted providers do: it drops connections,
 * answers late, answers HTTP 429 and 5xx, answers JSON-RPC errors, and refuses `eth_getLogs` queries over too many
 * blocks or with too many results. It also lies about the chain, call by call: log answers emptied, thinned, or taken
 * from a branch the node has abandoned (from its ChainRecording), headers of that branch, a head that lags the node's,
 * a log index that lags the headers. What it does is decided by a seeded generator (reproducible), by a script of the
 * n-th call, or by rules that always apply; every decision is counted.
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

/** A wrong answer about the chain (where a fault is a failure): the provider answers, and what it says is not so. */
export type Lie =
  /** `eth_getLogs` answers no logs. */
  | { kind: "empty-logs" }
  /**
   * `eth_getLogs` answers some of the node's logs, drawn by the seeded generator (each kept with chance `keep`, 0.5
   * when absent), and always a different answer: of two or more logs never all and never none; of one, none.
   */
  | { kind: "subset-logs"; keep?: number }
  /**
   * `eth_getLogs` answers the recorded logs of the branch the node has abandoned (ChainRecording.goneBranch), their
   * blockHash fields that branch's. A range: its logs where it had blocks of its own, the node's where the two agree,
   * none above its tip. A block hash: the logs of its block at that hash's height (the block's own when the hash is
   * itself of the gone branch, which the node no longer knows).
   */
  | { kind: "other-branch-logs" }
  /**
   * `eth_getBlockByNumber` and `eth_getBlockByHash` answer the recorded headers of the branch the node has abandoned,
   * the same way: its block at that height, the node's where the two agree, null above its tip (a block tag there gets
   * its tip). A hash of the gone branch gets its own header.
   */
  | { kind: "other-branch-headers" }
  /**
   * The proxy's head is `blocks` behind the node's: `eth_blockNumber` answers it and block tags mean it; blocks above
   * it do not exist yet (headers, receipts and transactions in them null, their logs by hash "unknown block", state at
   * their numbers "header not found"); `eth_getLogs` ranges are clamped to it silently, as geth clamps to its head.
   */
  | { kind: "lag"; blocks: number }
  /** Headers (and all else) up to the head, but `eth_getLogs` has no logs yet for the newest `blocks` blocks. */
  | { kind: "log-index-lag"; blocks: number };

/** Which of the calls a rule concerns its lie is told on. */
export type LieSchedule =
  /** The `nth` (from 1), and the `count` − 1 after it (count 1 when absent). */
  | { nth: number; count?: number }
  /** The next `calls`, from when the rule was given (to `start` or `configure`). */
  | { next: number }
  /** Each, with this chance, drawn from the seeded generator. */
  | { probability: number };

export interface LieRule {
  lie: Lie;
  /** Only calls of these methods, among those the lie concerns (LIE_METHODS); all of those when absent. */
  methods?: readonly string[];
  /** Only `eth_getLogs` by block range (fromBlock/toBlock), or by blockHash; both when absent. Other methods are not narrowed. */
  queries?: "range" | "blockHash";
  /**
   * Which of the calls the rule concerns are lied to; all when absent (until `configure` takes the rule away). A rule
   * counts its calls for as long as the same object stays in `lies`: a new object starts again from its first call.
   */
  when?: LieSchedule;
}

/** The methods each lie concerns. */
export const LIE_METHODS: Readonly<Record<Lie["kind"], readonly string[]>> = {
  "empty-logs": ["eth_getLogs"],
  "subset-logs": ["eth_getLogs"],
  "other-branch-logs": ["eth_getLogs"],
  "other-branch-headers": ["eth_getBlockByNumber", "eth_getBlockByHash"],
  lag: [
    "eth_blockNumber",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getLogs",
    "eth_getTransactionReceipt",
    "eth_getTransactionByHash",
    "eth_call",
    "eth_getBalance",
    "eth_getCode",
    "eth_getTransactionCount",
    "eth_getStorageAt",
  ],
  "log-index-lag": ["eth_getLogs"],
};

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
  /**
   * Lies, judged call by call (each call of a batch on its own) on the calls the proxy answers: of the log lies (empty,
   * subset, other branch) the first rule that tells a call wins; lags and stale headers combine with them.
   */
  lies?: readonly LieRule[];
  /**
   * Where the proxy records every header and log the node gives it. Share one between proxies, or prime one from the
   * node, so that a proxy which never saw a branch can serve it once it is gone. A new one when absent.
   */
  recording?: ChainRecording;
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
  /** eth_getLogs answers an "empty-logs" lie changed (the node had logs). */
  emptiedLogQueries: number;
  /** eth_getLogs answers a "subset-logs" lie changed. */
  subsetLogQueries: number;
  /** eth_getLogs answers an "other-branch-logs" lie changed. */
  otherBranchLogQueries: number;
  /** Block headers an "other-branch-headers" lie changed (to the gone branch's, or null above its tip). */
  staleHeaders: number;
  /** Calls a "lag" answered from its lagging head: eth_blockNumber, block tags, blocks above it, log ranges reaching it. */
  laggedAnswers: number;
  /** eth_getLogs answers a "log-index-lag" withheld logs from. */
  unindexedLogQueries: number;
  /** Calls the proxy made to the node for its own sake (heads, hashes, heights), not for a client. */
  lookups: number;
}

/** An `eth_getLogs` by block numbers that reached the proxy's decision: refused, or answered by the node. */
export interface LogQuery {
  from: number;
  to: number;
  refused: boolean;
  /** Logs in the node's answer (when it was not refused; the lag's own answer when the node was not asked). */
  logs?: number;
  /** What happened to the answer on its way back: held, or lost with its connection. */
  fault?: "delay" | "drop-after-answer";
  /** The lies that changed the answer (a lag also when it clamped the range). */
  lies?: Array<Lie["kind"]>;
}

/** The lies told on one call. */
interface CallLies {
  logs?: Extract<Lie, { kind: "empty-logs" | "subset-logs" | "other-branch-logs" }>;
  headers?: boolean;
  lag?: number;
  logIndexLag?: number;
}

/** An `eth_getLogs` filter as JSON-RPC takes it. */
interface LogFilter extends LogSelection {
  fromBlock?: unknown;
  toBlock?: unknown;
  blockHash?: string;
}

/** Heights whose hashes one lookup batch asks the node for. */
const HASHES_PER_LOOKUP = 200;

/** Block tags that mean the head (this proxy's, when it lags). */
const HEAD_TAGS: readonly unknown[] = ["latest", "pending", "safe", "finalized"];

/** Where state methods take their block: the index of the parameter. */
const STATE_BLOCK_PARAMETER: Readonly<Record<string, number>> = {
  eth_call: 1,
  eth_getBalance: 1,
  eth_getCode: 1,
  eth_getTransactionCount: 1,
  eth_getStorageAt: 2,
};

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
  emptiedLogQueries: 0,
  subsetLogQueries: 0,
  otherBranchLogQueries: 0,
  staleHeaders: 0,
  laggedAnswers: 0,
  unindexedLogQueries: 0,
  lookups: 0,
});

const blockNumber = (value: unknown): number | undefined => (typeof value === "string" && /^0x[0-9a-f]+$/i.test(value) ? Number(BigInt(value)) : undefined);

/** A block parameter as a height: tags of the head as `head`, "earliest" as 0. */
const heightOf = (value: unknown, head: number): number | undefined =>
  value === undefined || HEAD_TAGS.includes(value) ? head : value === "earliest" ? 0 : blockNumber(value);

const resultOf = (answer: JsonRpcAnswer, result: unknown): JsonRpcAnswer => ({ jsonrpc: "2.0", id: answer.id, result });
const same = (a: JsonRpcAnswer, b: JsonRpcAnswer) => JSON.stringify(a) === JSON.stringify(b);

/** The node as one request sees it: its head and block hashes asked once for all the calls of the request. */
class NodeView {
  private head?: Promise<number>;
  private readonly hashes = new Map<number, Promise<string | null>>();

  constructor(
    private readonly lookup: (calls: JsonRpcCall[]) => Promise<JsonRpcAnswer[]>,
    private readonly recording: ChainRecording,
  ) {}

  nodeHead(): Promise<number> {
    this.head ??= this.lookup([{ method: "eth_blockNumber", params: [] }]).then(([answer]) => {
      const head = blockNumber(answer.result);
      if (head === undefined) throw new Error(`the node gave no head: ${JSON.stringify(answer)}`);
      return head;
    });
    return this.head;
  }

  /** The node's head less `lag` blocks (never below the genesis block). */
  async headLess(lag: number | undefined): Promise<number> {
    return Math.max(0, (await this.nodeHead()) - (lag ?? 0));
  }

  /** The node's hash at each height (null above its head), each height asked once per request. */
  readonly canonical: CanonicalHashes = async (heights) => {
    const missing = [...new Set(heights)].filter((height) => !this.hashes.has(height));
    for (let i = 0; i < missing.length; i += HASHES_PER_LOOKUP) {
      const chunk = missing.slice(i, i + HASHES_PER_LOOKUP);
      const answers = this.lookup(chunk.map((height) => ({ method: "eth_getBlockByNumber", params: [toHex(height), false] })));
      chunk.forEach(
        (height, k) =>
          void this.hashes.set(
            height,
            answers.then((all) => (isBlock(all[k].result) ? all[k].result.hash.toLowerCase() : null)),
          ),
      );
    }
    return new Map(await Promise.all(heights.map(async (height) => [height, await this.hashes.get(height)!] as const)));
  };

  /** Whether the node still has this recorded hash at its height. */
  async isCanonical(hash: string, height: number): Promise<boolean> {
    return (await this.canonical([height])).get(height) === hash.toLowerCase();
  }

  /** The height of a block hash: recorded, or asked of the node; undefined when neither knows it. */
  async heightOfHash(hash: string): Promise<number | undefined> {
    const known = this.recording.block(hash);
    if (known) return known.number;
    const [answer] = await this.lookup([{ method: "eth_getBlockByHash", params: [hash, false] }]);
    return isBlock(answer.result) ? blockNumber(answer.result.number) : undefined;
  }
}

export class FaultyRpcProxy {
  readonly stats: ProxyStats = emptyStats();
  readonly logQueries: LogQuery[] = [];
  /** Every header and log the node gave this proxy (shared when `recording` was given). */
  readonly recording: ChainRecording;
  private options: ProxyOptions;
  private random: () => number;
  /** The lies' own generator: giving a proxy lies leaves the faults a seed draws as they were. */
  private readonly lieRandom: () => number;
  /** Calls each lie rule has concerned so far. */
  private readonly concerned = new WeakMap<LieRule, number>();
  private readonly nthOfMethod = new Map<string, number>();
  private readonly pending: Fault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  private server!: LocalHttpServer;

  private constructor(options: ProxyOptions) {
    this.options = options;
    this.random = seededRandom(options.seed ?? 1);
    this.lieRandom = seededRandom((options.seed ?? 1) ^ 0x5bd1e995);
    this.recording = options.recording ?? new ChainRecording();
  }

  /** Starts a proxy on 127.0.0.1 at a free port. */
  static async start(options: ProxyOptions): Promise<FaultyRpcProxy> {
    const proxy = new FaultyRpcProxy(options);
    proxy.server = await startLocalHttpServer("proxy", (request, response) => proxy.handle(request, response));
    return proxy;
  }

  get url(): string {
    return this.server.url;
  }

  /**
   * Changes the faults and lies from now on (the counters and the generators' positions are kept; a lie rule keeps
   * its count of calls while the same object stays in `lies`).
   */
  configure(changes: Partial<Omit<ProxyOptions, "upstream" | "seed" | "recording">>): void {
    this.options = { ...this.options, ...changes };
  }

  /** Faults injected so far, of every kind. */
  get faults(): number {
    const s = this.stats;
    return s.dropped + s.droppedAfterAnswer + s.delayed + s.rpcErrors + s.refusedLogQueries + Object.values(s.http).reduce((a, b) => a + b, 0);
  }

  /** Answers changed by lies so far, of every kind. */
  get lies(): number {
    const s = this.stats;
    return s.emptiedLogQueries + s.subsetLogQueries + s.otherBranchLogQueries + s.staleHeaders + s.laggedAnswers + s.unindexedLogQueries;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.server.close();
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

  /**
   * Answers the calls: refused log queries here, the others by the node (as one batch when there are several), each
   * then lied about as the lie rules decide for it.
   */
  private async answer(calls: readonly JsonRpcCall[], fault?: LogQuery["fault"]): Promise<JsonRpcAnswer[]> {
    const answers: Array<JsonRpcAnswer | undefined> = calls.map(() => undefined);
    const view = new NodeView((asked) => this.lookup(asked), this.recording);
    const asked: Array<{ i: number; lies: CallLies; sent?: JsonRpcCall; node?: JsonRpcAnswer; tooMany?: boolean; told: Set<Lie["kind"]> }> = [];
    calls.forEach((call, i) => {
      const query = call.method === "eth_getLogs" ? this.logRange(call) : undefined;
      const { maxLogBlocks } = this.options;
      if (query && maxLogBlocks && query.to - query.from + 1 > maxLogBlocks.blocks) {
        this.logQueries.push({ ...query, refused: true });
        answers[i] = { jsonrpc: "2.0", id: call.id ?? null, error: this.refusal(maxLogBlocks, maxLogBlocks.blocks, RANGE_MESSAGE, -32000) };
        return;
      }
      asked.push({ i, lies: this.liesFor(call), told: new Set() });
    });
    // A lag answers some calls itself and narrows others before the node sees them.
    for (const entry of asked) {
      const before = entry.lies.lag === undefined ? { call: calls[entry.i], lagged: false } : await this.lagBefore(calls[entry.i], entry.lies.lag, view);
      if (before.lagged) entry.told.add("lag");
      if ("answer" in before) answers[entry.i] = before.answer;
      else entry.sent = before.call;
    }
    const toNode = asked.filter((entry) => entry.sent !== undefined);
    const upstream = toNode.length > 0 ? await this.forward(toNode.map((entry) => entry.sent!)) : [];
    toNode.forEach((entry, k) => {
      const call = calls[entry.i];
      entry.node = upstream[k];
      this.recording.recordAnswer(String(call.method), entry.node.result);
      const { maxLogResults } = this.options;
      const logs = entry.node.result;
      if (maxLogResults && call.method === "eth_getLogs" && Array.isArray(logs) && logs.length > maxLogResults.results) {
        answers[entry.i] = { jsonrpc: "2.0", id: call.id ?? null, error: this.refusal(maxLogResults, maxLogResults.results, RESULTS_MESSAGE, -32005) };
        entry.tooMany = true;
      } else {
        answers[entry.i] = entry.node;
      }
    });
    // In call order, one after the other: the seeded draws of a subset must not depend on which lookup answers first.
    for (const entry of asked) {
      const call = calls[entry.i];
      const query = call.method === "eth_getLogs" ? this.logRange(call) : undefined;
      if (entry.tooMany) {
        if (query) this.logQueries.push({ ...query, refused: true });
        continue;
      }
      const told = await this.tell(call, entry.sent ?? call, answers[entry.i]!, entry.lies, view, entry.told);
      answers[entry.i] = told;
      if (entry.told.has("lag")) this.stats.laggedAnswers += 1;
      if (!query) continue;
      // The logs the node gave (none when the lag answered without asking it).
      const logs = (entry.node ?? told).result;
      this.logQueries.push({
        ...query,
        refused: told.error !== undefined,
        ...(Array.isArray(logs) ? { logs: logs.length } : {}),
        ...(fault ? { fault } : {}),
        ...(entry.told.size > 0 ? { lies: [...entry.told] } : {}),
      });
    }
    return answers as JsonRpcAnswer[];
  }

  /** The lies each rule tells on this call (every rule concerned counts the call, whether or not another wins). */
  private liesFor(call: JsonRpcCall): CallLies {
    const method = String(call.method);
    const query = method === "eth_getLogs" ? ((call.params?.[0] as LogFilter | undefined)?.blockHash !== undefined ? "blockHash" : "range") : undefined;
    const lies: CallLies = {};
    for (const rule of this.options.lies ?? []) {
      if (!LIE_METHODS[rule.lie.kind].includes(method)) continue;
      if (rule.methods && !rule.methods.includes(method)) continue;
      if (rule.queries && query && rule.queries !== query) continue;
      if (!this.tells(rule)) continue;
      const { lie } = rule;
      if (lie.kind === "other-branch-headers") lies.headers = true;
      else if (lie.kind === "lag") lies.lag ??= lie.blocks;
      else if (lie.kind === "log-index-lag") lies.logIndexLag ??= lie.blocks;
      else lies.logs ??= lie;
    }
    return lies;
  }

  private tells(rule: LieRule): boolean {
    const n = (this.concerned.get(rule) ?? 0) + 1;
    this.concerned.set(rule, n);
    const { when } = rule;
    if (!when) return true;
    if ("probability" in when) return when.probability >= 1 || this.lieRandom() < when.probability;
    if ("next" in when) return n <= when.next;
    return n >= when.nth && n < when.nth + (when.count ?? 1);
  }

  /**
   * A lag before the node is asked: the calls it answers itself (the head, blocks above it, ranges wholly above it)
   * and the calls it narrows to its head (block tags, log ranges).
   */
  private async lagBefore(
    call: JsonRpcCall,
    lag: number,
    view: NodeView,
  ): Promise<{ call: JsonRpcCall; lagged: boolean } | { answer: JsonRpcAnswer; lagged: true }> {
    const params = call.params ?? [];
    const head = await view.headLess(lag);
    const id = call.id ?? null;
    const reply = (result: unknown) => ({ answer: { jsonrpc: "2.0" as const, id, result }, lagged: true as const });
    const refuse = (message: string) => ({ answer: { jsonrpc: "2.0" as const, id, error: { code: -32000, message } }, lagged: true as const });
    const withParams = (changed: unknown[]) => ({ call: { ...call, params: changed }, lagged: true });
    switch (call.method) {
      case "eth_blockNumber":
        return reply(toHex(head));
      case "eth_getBlockByNumber": {
        if (HEAD_TAGS.includes(params[0])) return withParams([toHex(head), ...params.slice(1)]);
        const height = blockNumber(params[0]);
        return height !== undefined && height > head ? reply(null) : { call, lagged: false };
      }
      case "eth_getLogs": {
        const filter = (params[0] ?? {}) as LogFilter;
        if (filter.blockHash !== undefined) {
          const height = await view.heightOfHash(filter.blockHash);
          return height !== undefined && height > head ? refuse("unknown block") : { call, lagged: false };
        }
        const from = heightOf(filter.fromBlock, head);
        const to = heightOf(filter.toBlock, head);
        // A malformed or reversed range is the node's to refuse.
        if (from === undefined || to === undefined || from > to) return { call, lagged: false };
        const clamped = Math.min(to, head);
        const lagged = blockNumber(filter.fromBlock) === undefined || blockNumber(filter.toBlock) === undefined || to > head;
        if (from > clamped) return reply([]);
        return { call: { ...call, params: [{ ...filter, fromBlock: toHex(from), toBlock: toHex(clamped) }, ...params.slice(1)] }, lagged };
      }
      default: {
        const at = STATE_BLOCK_PARAMETER[String(call.method)];
        if (at === undefined) return { call, lagged: false };
        const block = params[at];
        if (block === undefined || HEAD_TAGS.includes(block)) {
          const changed = [...params];
          changed[at] = toHex(head);
          return withParams(changed);
        }
        const height = blockNumber(block);
        return height !== undefined && height > head ? refuse("header not found") : { call, lagged: false };
      }
    }
  }

  /** The lies told on one answer of the node (or of the lag), in order: lag, stale header, log lie, log index lag. */
  private async tell(
    call: JsonRpcCall,
    sent: JsonRpcCall,
    answer: JsonRpcAnswer,
    lies: CallLies,
    view: NodeView,
    told: Set<Lie["kind"]>,
  ): Promise<JsonRpcAnswer> {
    let current = answer;
    // Blocks above a lagging head do not exist yet, on whichever branch.
    const ceiling = lies.lag === undefined ? Infinity : await view.headLess(lies.lag);
    const step = async (kind: Lie["kind"], stat: keyof ProxyStats | undefined, change: (from: JsonRpcAnswer) => Promise<JsonRpcAnswer>) => {
      const next = await change(current);
      if (same(next, current)) return;
      told.add(kind);
      if (stat) (this.stats[stat] as number) += 1;
      current = next;
    };
    if (lies.lag !== undefined) await step("lag", undefined, (from) => this.lagAfter(call, from, lies.lag!, view));
    if (lies.headers) await step("other-branch-headers", "staleHeaders", (from) => this.staleHeader(call, from, view, ceiling));
    const logs = lies.logs;
    if (logs?.kind === "empty-logs") {
      await step(logs.kind, "emptiedLogQueries", async (from) => (Array.isArray(from.result) ? resultOf(from, []) : from));
    } else if (logs?.kind === "subset-logs") {
      await step(logs.kind, "subsetLogQueries", async (from) =>
        Array.isArray(from.result) ? resultOf(from, this.subset(from.result, logs.keep ?? 0.5)) : from,
      );
    } else if (logs?.kind === "other-branch-logs") {
      await step(logs.kind, "otherBranchLogQueries", (from) => this.otherBranchLogs(sent, from, view, ceiling));
    }
    if (lies.logIndexLag !== undefined) {
      const indexed = (await view.headLess(lies.lag)) - lies.logIndexLag;
      await step("log-index-lag", "unindexedLogQueries", async (from) =>
        Array.isArray(from.result)
          ? resultOf(
              from,
              (from.result as RpcLog[]).filter((log) => blockNumber(log.blockNumber)! <= indexed),
            )
          : from,
      );
    }
    return current;
  }

  /** A lag after the node has answered: what the node gave from blocks above the lagging head does not exist yet. */
  private async lagAfter(call: JsonRpcCall, answer: JsonRpcAnswer, lag: number, view: NodeView): Promise<JsonRpcAnswer> {
    const result = answer.result as { number?: unknown; blockNumber?: unknown } | null | undefined;
    if (!result || typeof result !== "object") return answer;
    const height =
      call.method === "eth_getBlockByHash"
        ? blockNumber(result.number)
        : call.method === "eth_getTransactionReceipt" || call.method === "eth_getTransactionByHash"
          ? blockNumber(result.blockNumber)
          : undefined;
    return height !== undefined && height > (await view.headLess(lag)) ? resultOf(answer, null) : answer;
  }

  /** A header as the branch that is gone has it. */
  private async staleHeader(call: JsonRpcCall, answer: JsonRpcAnswer, view: NodeView, ceiling: number): Promise<JsonRpcAnswer> {
    if (answer.error) return answer;
    const params = call.params ?? [];
    const full = params[1] === true;
    let height: number | undefined;
    if (call.method === "eth_getBlockByHash") {
      const own = this.recording.block(String(params[0]));
      if (own?.header && own.number <= ceiling && !(await view.isCanonical(own.hash, own.number))) return resultOf(answer, this.recording.header(own, full));
      height = isBlock(answer.result) ? blockNumber(answer.result.number) : own?.number;
    } else {
      height = isBlock(answer.result) ? blockNumber(answer.result.number) : blockNumber(params[0]);
    }
    if (height === undefined || height > ceiling) return answer;
    const gone = await this.recording.goneBranch(view.canonical, [height]);
    // No branch is gone: there is nothing else to serve.
    if (gone.tip === undefined) return answer;
    const at = gone.at(height);
    if (at.kind === "orphan") return resultOf(answer, this.recording.header(at.block, full));
    if (at.kind === "shared") return answer;
    const tip = gone.at(gone.tip);
    const tagged = call.method === "eth_getBlockByNumber" && blockNumber(params[0]) === undefined;
    return resultOf(answer, tagged && tip.kind === "orphan" ? this.recording.header(tip.block, full) : null);
  }

  /** An `eth_getLogs` answer as the branch that is gone has it (see the "other-branch-logs" lie). */
  private async otherBranchLogs(sent: JsonRpcCall, answer: JsonRpcAnswer, view: NodeView, ceiling: number): Promise<JsonRpcAnswer> {
    const filter = (sent.params?.[0] ?? {}) as LogFilter;
    if (filter.blockHash !== undefined) {
      const own = this.recording.block(filter.blockHash);
      if (own && own.number > ceiling) return answer;
      // A hash of the gone branch, which the node no longer knows (and may refuse): that block's logs.
      if (own && !(await view.isCanonical(own.hash, own.number))) return resultOf(answer, this.recording.logs(own, filter));
      if (answer.error) return answer;
      const height = own?.number ?? (await view.heightOfHash(filter.blockHash));
      if (height === undefined) return answer;
      const gone = await this.recording.goneBranch(view.canonical, [height]);
      if (gone.tip === undefined) return answer;
      const at = gone.at(height);
      return at.kind === "orphan" ? resultOf(answer, this.recording.logs(at.block, filter)) : at.kind === "beyond" ? resultOf(answer, []) : answer;
    }
    if (answer.error || !Array.isArray(answer.result)) return answer;
    const head = await view.nodeHead();
    const from = heightOf(filter.fromBlock, head);
    const to = heightOf(filter.toBlock, head);
    if (from === undefined || to === undefined) return answer;
    const heights = this.recording.heights(from, to);
    const gone = await this.recording.goneBranch(view.canonical, heights);
    if (gone.tip === undefined) return answer;
    const shared = (answer.result as RpcLog[]).filter((log) => gone.at(blockNumber(log.blockNumber)!).kind === "shared");
    const theirs = heights.flatMap((height) => {
      const at = gone.at(height);
      return at.kind === "orphan" ? this.recording.logs(at.block, filter) : [];
    });
    return resultOf(answer, [...shared, ...theirs].sort(byPosition));
  }

  /** Some of `logs`, never all of two or more and never none of two or more (the lie must differ from the truth). */
  private subset(logs: readonly unknown[], keep: number): unknown[] {
    if (logs.length <= 1) return [];
    const kept = logs.map(() => this.lieRandom() < keep);
    const count = kept.filter(Boolean).length;
    if (count === logs.length) kept[Math.floor(this.lieRandom() * logs.length)] = false;
    if (count === 0) kept[Math.floor(this.lieRandom() * logs.length)] = true;
    return logs.filter((_, i) => kept[i]);
  }

  private logRange(call: JsonRpcCall): { from: number; to: number } | undefined {
    const filter = (call.params?.[0] ?? {}) as { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown };
    if (filter.blockHash !== undefined) return undefined;
    const from = blockNumber(filter.fromBlock);
    const to = blockNumber(filter.toBlock);
    return from === undefined || to === undefined ? undefined : { from, to };
  }

  /** Sends a client's calls to the node; answers come back in the calls' order. */
  private async forward(calls: readonly JsonRpcCall[]): Promise<JsonRpcAnswer[]> {
    const answers = await askNode(this.options.upstream, calls);
    this.stats.forwarded += calls.length;
    return answers;
  }

  /** Asks the node for the proxy's own sake, recording what it says. */
  private async lookup(calls: readonly JsonRpcCall[]): Promise<JsonRpcAnswer[]> {
    const numbered = calls.map((call, id) => ({ jsonrpc: "2.0", id, ...call }));
    const answers = await askNode(this.options.upstream, numbered);
    this.stats.lookups += calls.length;
    for (const [k, answer] of answers.entries()) this.recording.recordAnswer(String(calls[k].method), answer.result);
    return answers;
  }
}

/** A URL on 127.0.0.1 where nothing listens: connections are refused. */
export async function refusedUrl(): Promise<string> {
  const server = await startLocalHttpServer("closed", async () => undefined);
  await server.close();
  return server.url;
}
