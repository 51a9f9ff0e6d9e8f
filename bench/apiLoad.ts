/**
 * The load side of the API benchmark (bench/api.ts): runs autocannon against the merchant API and measures every
 * response's latency itself (autocannon's histogram keeps whole milliseconds). bench/api.ts runs it in a child
 * process of its own — `fork` this file, send it a LoadOptions message, get a LoadFigures message back — so that the
 * client and the API do not share one event loop; or calls `runLoad` in its own process to show what sharing costs.
 */
import { randomBytes, randomInt } from "node:crypto";
import autocannon from "autocannon";

export type Scenario = "create" | "create with Idempotency-Key" | "retrieve";

export interface LoadOptions {
  /** The API's base URLs: several when several API processes serve (connections are spread over them). */
  urls: string[];
  /** A test-mode API key. */
  key: string;
  scenario: Scenario;
  connections: number;
  seconds: number;
  /** The payments `retrieve` reads, in turn. */
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
  if (sequence % 3 !== 0) body.metadata = { customer_id: `cus_${randomBytes(6).toString("hex")}`, cart: String(randomInt(1, 1e6)), channel: sequence % 2 ? "web" : "app" };
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

/** Runs one scenario for `seconds` with `connections` keep-alive connections and measures it. */
export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  const authorization = `Bearer ${options.key}`;
  let sequence = 0;
  let request: autocannon.Request;
  if (options.scenario === "retrieve") {
    const ids = options.paymentIds ?? [];
    if (ids.length === 0) throw new Error("retrieve: no payment ids to read");
    request = {
      method: "GET",
      setupRequest: (req) => ({ ...req, path: `/v1/payments/${ids[sequence++ % ids.length]}` }),
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
    headers: { authorization },
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
