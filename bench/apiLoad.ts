/**
 * The load side of the HTTP benchmarks (bench/api.ts, bench/checkout.ts): runs autocannon against the API and
 * measures every response's latency itself (autocannon's histogram keeps whole milliseconds). The benchmarks run it
 * in a child process of its own — `LoadProcess.start()` forks this file, `run` sends it a LoadOptions message and
 * gets a LoadFigures message back — so that the client and the API do not share one event loop; or call `runLoad`
 * in their own process to show what sharing costs.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import path from "node:path";
import autocannon from "autocannon";

/** What a run requests: the merchant API's routes (with the key), or the hosted checkout's (without one). */
export type Scenario = "create" | "create with Idempotency-Key" | "retrieve" | "checkout page" | "checkout status" | "checkout wallet";

const ROUTES: Record<Scenario, string> = {
  create: "POST /v1/payments",
  "create with Idempotency-Key": "POST /v1/payments + Idempotency-Key",
  retrieve: "GET /v1/payments/:id",
  "checkout page": "GET /checkout/:id",
  "checkout status": "GET /checkout/:id/status",
  "checkout wallet": "GET /checkout/:id/wallet?token=USDT",
};

/** The route a scenario requests, as the docs' tables name it. */
export const routeOf = (scenario: Scenario): string => ROUTES[scenario];

/** The paths of the scenarios that read one payment after another: `paymentIds` in turn. */
const READS: Partial<Record<Scenario, (id: string) => string>> = {
  retrieve: (id) => `/v1/payments/${id}`,
  "checkout page": (id) => `/checkout/${id}`,
  "checkout status": (id) => `/checkout/${id}/status`,
  "checkout wallet": (id) => `/checkout/${id}/wallet?token=USDT`,
};

export interface LoadOptions {
  /** The API's base URLs: several when several API processes serve (connections are spread over them). */
  urls: string[];
  /** A test-mode API key, for the merchant API's scenarios (the checkout's requests carry none, as a shopper's). */
  key?: string;
  scenario: Scenario;
  connections: number;
  seconds: number;
  /** Ends the run after this many requests rather than after `seconds`. */
  requests?: number;
  /** The payments `retrieve` and the checkout's scenarios read, in turn. */
  paymentIds?: string[];
  /** The merchant's address: some payments name it as their refund address. */
  refundAddress?: string;
}

export interface LoadFigures {
  scenario: Scenario;
  connections: number;
  seconds: number;
  responses: number;
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Requests sent and not answered when the run ended (autocannon closes its connections then). */
  cutOff: number;
  /** CPU seconds the load generator's process used (autocannon's own cost). */
  cpuSeconds: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
}

const TOKEN_CHOICES: ReadonlyArray<string[] | undefined> = [undefined, undefined, ["USDT"], ["USDC", "USDT"], ["BNB"], ["usdt", "bnb"]];

/** A different body every time: amount, order id, metadata, tokens, TTL, URLs and refund address vary. */
export function createBody(sequence: number, refundAddress?: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    amount_usd: `${randomInt(1, 5_000)}.${String(randomInt(0, 100)).padStart(2, "0")}`,
    order_id: `bench-${process.pid}-${sequence}`,
  };
  if (sequence % 2 === 0) body.description = `Order ${sequence}: ${randomInt(1, 9)} × T-shirt, size ${["S", "M", "L", "XL"][sequence % 4]}`;
  if (sequence % 3 !== 0)
    body.metadata = { customer_id: `cus_${randomBytes(6).toString("hex")}`, cart: String(randomInt(1, 1e6)), channel: sequence % 2 ? "web" : "app" };
  const tokens = TOKEN_CHOICES[sequence % TOKEN_CHOICES.length];
  if (tokens) body.tokens = tokens;
  if (sequence % 4 === 1) body.ttl_seconds = randomInt(60, 86_400);
  if (sequence % 5 !== 0) {
    body.success_url = `https://shop.example/orders/${sequence}/thanks`;
    body.cancel_url = `https://shop.example/cart?order=${sequence}`;
  }
  if (refundAddress && sequence % 7 === 0) body.refund_address = refundAddress;
  return body;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Runs one scenario for `seconds` (or `requests`) with `connections` keep-alive connections and measures it. */
export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  const checkout = options.scenario.startsWith("checkout");
  if (!checkout && !options.key) throw new Error(`${options.scenario}: an API key is needed`);
  const authorization = `Bearer ${options.key}`;
  let sequence = 0;
  let request: autocannon.Request;
  const read = READS[options.scenario];
  if (read) {
    const ids = options.paymentIds ?? [];
    if (ids.length === 0) throw new Error(`${options.scenario}: no payment ids to read`);
    request = {
      method: "GET",
      setupRequest: (req) => ({ ...req, path: read(ids[sequence++ % ids.length]) }),
    };
  } else {
    const keyed = options.scenario === "create with Idempotency-Key";
    request = {
      method: "POST",
      path: "/v1/payments",
      setupRequest: (req) => {
        sequence += 1;
        const headers: Record<string, string> = { authorization, "content-type": "application/json" };
        if (keyed) headers["idempotency-key"] = `bench-${process.pid}-${randomBytes(12).toString("base64url")}`;
        return { ...req, headers, body: JSON.stringify(createBody(sequence, options.refundAddress)) };
      },
    };
  }
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const cpu = process.cpuUsage();
  const instance = autocannon({
    // Several URLs spread the connections over them (autocannon's types name a single one).
    url: (options.urls.length === 1 ? options.urls[0] : options.urls) as string,
    connections: options.connections,
    duration: options.seconds,
    ...(options.requests === undefined ? {} : { amount: options.requests }),
    headers: checkout ? {} : { authorization },
    requests: [request],
    timeout: 10,
  }) as unknown as autocannon.Instance & Promise<autocannon.Result>; // without a callback: the instance, also a promise
  instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  });
  const result = await instance;
  const used = process.cpuUsage(cpu);
  const sorted = Float64Array.from(latencies).sort();
  return {
    scenario: options.scenario,
    connections: options.connections,
    seconds: result.duration,
    responses: latencies.length,
    requestsPerSecond: latencies.length / result.duration,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? sorted[sorted.length - 1] : Number.NaN,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    cutOff: Math.max(0, result.requests.sent - latencies.length),
    cpuSeconds: (used.user + used.system) / 1e6,
    statuses,
  };
}

/** This file in a child process of its own, running one LoadOptions after another. */
export class LoadProcess {
  private constructor(readonly child: ChildProcess) {}

  static async start(): Promise<LoadProcess> {
    const child = fork(path.join(__dirname, "apiLoad.ts"), [], { execArgv: ["--require", "ts-node/register/transpile-only"], stdio: "inherit" });
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`the load process exited with ${code} before it was ready`)));
    });
    return new LoadProcess(child);
  }

  run(options: LoadOptions): Promise<LoadFigures> {
    return new Promise((resolve, reject) => {
      this.child.once("message", (message: { figures?: LoadFigures; error?: string }) =>
        message.figures ? resolve(message.figures) : reject(new Error(`the load process failed: ${message.error}`)),
      );
      this.child.send(options);
    });
  }

  stop(): void {
    this.child.kill();
  }
}

// As a child process: one LoadOptions message in, one LoadFigures message out, per run.
if (require.main === module && process.send) {
  process.on("message", (options: LoadOptions) => {
    runLoad(options).then(
      (figures) => process.send!({ figures }),
      (error: Error) => process.send!({ error: error.stack ?? error.message }),
    );
  });
  process.send({ ready: true });
}
