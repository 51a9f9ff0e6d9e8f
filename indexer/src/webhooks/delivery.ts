import { promises as dns, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { performance } from "node:perf_hooks";
import { forbiddenReason, NO_ALLOWED_RANGES, type AllowList } from "../ledger/webhookAddressPolicy";
import { parseRetryAfter } from "./retrySchedule";
import type { WebhookHeaders } from "./signing";

/**
 * One webhook POST to a merchant's endpoint, made so that a merchant's URL can neither reach the operator's network nor
 * hold a worker: addresses are checked when the socket connects (after DNS, so a name that turns private later is still
 * refused), redirects are never followed (a 3xx could point anywhere), the whole exchange has a deadline and the
 * response body is read only up to a cap.
 */

/** What one attempt came to. */
export interface DeliveryResult {
  /** A 2xx response. */
  ok: boolean;
  /** The response's status code, when there was a response. */
  status?: number;
  /** A 429 or 503 response's `Retry-After`, in milliseconds from now. */
  retryAfterMs?: number;
  /** 410 Gone: the merchant says the endpoint no longer exists, and it must be disabled. */
  gone: boolean;
  /** Why it failed, for the delivery log the merchant reads; undefined when ok. */
  error?: string;
  /** The start of a failed response's body, when it had one (the delivery log shows it); never a success's. */
  excerpt?: string;
  durationMs: number;
}

/** Resolves a host name to its addresses, as `dns.lookup` with `all` does; injectable so that tests need no DNS. */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

export interface WebhookClientOptions {
  /** Non-public ranges the operator allows (WEBHOOK_ALLOWED_CIDRS). */
  allowList?: AllowList;
  resolve?: Resolve;
  /** The deadline of a whole attempt, from the request to the end of the response (the spec's 15 s by default). */
  timeoutMs?: number;
  /** The most of a response body read; the rest is dropped with the connection. */
  maxResponseBytes?: number;
  userAgent?: string;
}

export const DELIVERY_TIMEOUT_MS = 15_000;
const MAX_RESPONSE_BYTES = 64 * 1024;
/** The part of an error response kept in the delivery log: enough to recognise a framework's error page. */
const RESPONSE_EXCERPT_BYTES = 200;
export const WEBHOOK_USER_AGENT = "OpenPay-Webhooks/1.0";

/** A connection refused by the address policy: never a network fault, always the URL's. */
export class ForbiddenAddressError extends Error {
  override name = "ForbiddenAddressError";
  readonly code = "EFORBIDDENADDRESS";
}

/** An error of a keep-alive socket the server closed just as it was reused: the request never reached the server. */
const STALE_SOCKET_ERRORS = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

/**
 * Sends webhook deliveries over keep-alive connections (many deliveries a second go to the same few hosts, and a TLS
 * handshake per delivery would cost more than the delivery).
 */
export class WebhookClient {
  private readonly allowList: AllowList;
  private readonly resolve: Resolve;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly userAgent: string;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly lookup: LookupFunction;
  private readonly targets = new Map<string, Target>();

  constructor(options: WebhookClientOptions = {}) {
    this.allowList = options.allowList ?? NO_ALLOWED_RANGES;
    this.resolve = options.resolve ?? systemResolve;
    this.timeoutMs = options.timeoutMs ?? DELIVERY_TIMEOUT_MS;
    this.maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    this.userAgent = options.userAgent ?? WEBHOOK_USER_AGENT;
    // Idle sockets are closed before typical servers' own keep-alive timeouts (Node's 5 s, nginx's 75 s) would.
    const agentOptions = { keepAlive: true, scheduling: "lifo" as const, timeout: 4_000, maxFreeSockets: 256 };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
    this.lookup = this.guardedLookup.bind(this);
  }

  /** POSTs `body` to `url` with the signature headers; never throws. */
  async post(url: string, body: string, headers: WebhookHeaders): Promise<DeliveryResult> {
    const started = performance.now();
    const finish = (result: Omit<DeliveryResult, "durationMs" | "gone"> & { gone?: boolean }): DeliveryResult => ({
      gone: false,
      ...result,
      durationMs: Math.round(performance.now() - started),
    });
    const target = this.targetOf(url);
    if ("refusal" in target) return finish({ ok: false, error: target.refusal });
    const deadline = started + this.timeoutMs;
    let outcome = await this.attempt(target, body, headers, deadline);
    if (outcome.staleSocket) outcome = await this.attempt(target, body, headers, deadline);
    return finish(outcome.result);
  }

  /**
   * Where `url` sends, or why it must not: the same for every delivery to it (the allow-list is this client's), so
   * worked out once per URL rather than parsed and checked again for each of the thousands of deliveries to it.
   */
  private targetOf(url: string): Target {
    let target = this.targets.get(url);
    if (!target) {
      target = parseTarget(url, this.allowList);
      if (this.targets.size >= 10_000) this.targets.clear();
      this.targets.set(url, target);
    }
    return target;
  }

  /** Closes the idle connections (in-flight deliveries finish). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private attempt(
    target: Endpoint,
    body: string,
    headers: WebhookHeaders,
    deadline: number,
  ): Promise<{ result: Omit<DeliveryResult, "durationMs">; staleSocket?: boolean }> {
    const https_ = target.https;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: Omit<DeliveryResult, "durationMs">, staleSocket = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ result, staleSocket });
      };
      const request = (https_ ? https : http).request({
        protocol: https_ ? "https:" : "http:",
        hostname: target.hostname,
        port: target.port,
        path: target.path,
        method: "POST",
        agent: https_ ? this.httpsAgent : this.httpAgent,
        lookup: this.lookup,
        // As a list, the headers are written as given, without Node's per-request map of them; Host is then ours.
        headers: [
          "host",
          target.host,
          "content-type",
          "application/json",
          "content-length",
          String(Buffer.byteLength(body)),
          "user-agent",
          this.userAgent,
          "webhook-id",
          headers["webhook-id"],
          "webhook-timestamp",
          headers["webhook-timestamp"],
          "webhook-signature",
          headers["webhook-signature"],
        ],
      });
      const timer = setTimeout(
        () => {
          request.destroy();
          settle({ ok: false, gone: false, error: `no complete response within ${this.timeoutMs} ms` });
        },
        Math.max(0, deadline - performance.now()),
      );
      request.on("error", (error: NodeJS.ErrnoException) => {
        const stale = request.reusedSocket && !!error.code && STALE_SOCKET_ERRORS.has(error.code);
        settle({ ok: false, gone: false, error: describeError(error) }, stale);
      });
      request.on("response", (response) => {
        const status = response.statusCode ?? 0;
        // A success's body is read to its end (the connection is kept) but not kept: what the merchant needs to see is
        // why a delivery failed, and copying every success's first bytes into the log cost the workers and PostgreSQL.
        const keep = status < 200 || status >= 300;
        const excerpt: Buffer[] = [];
        let read = 0;
        // Without NULs: PostgreSQL's text cannot hold them, and the log's batch would fail on one.
        const done = () => settle(this.judge(status, response, keep ? Buffer.concat(excerpt).toString("utf8").replaceAll("\0", "") : ""));
        response.on("data", (chunk: Buffer) => {
          if (keep && read < RESPONSE_EXCERPT_BYTES) excerpt.push(chunk.subarray(0, RESPONSE_EXCERPT_BYTES - read));
          read += chunk.length;
          if (read > this.maxResponseBytes) {
            // Enough: a receiver has nothing more to say, and reading on is a way to hold the worker.
            done();
            response.destroy();
          }
        });
        response.on("end", done);
        response.on("error", done);
        response.on("close", done);
      });
      request.end(body);
    });
  }

  /** The result of a complete response. */
  private judge(status: number, response: http.IncomingMessage, body: string): Omit<DeliveryResult, "durationMs"> {
    if (status >= 200 && status < 300) return { ok: true, status, gone: false };
    const excerpt = body === "" ? undefined : body;
    const said = body.replace(/\s+/g, " ").trim();
    const tail = said ? `: ${said}` : "";
    if (status === 410) return { ok: false, status, gone: true, error: "responded 410 Gone", excerpt };
    if (status >= 300 && status < 400) {
      const location = response.headers.location;
      return { ok: false, status, gone: false, error: `responded ${status}, a redirect (not followed${location ? `: Location ${location}` : ""})`, excerpt };
    }
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers["retry-after"], new Date()) : undefined;
    return { ok: false, status, gone: false, retryAfterMs, error: `responded ${status}${tail}`, excerpt };
  }

  /**
   * `lookup` for the sockets: resolves the name and keeps only the addresses the policy allows, so that the socket
   * connects to an address that was checked. Refuses the connection when none is left.
   */
  private guardedLookup(hostname: string, options: Parameters<LookupFunction>[1], callback: Parameters<LookupFunction>[2]): void {
    this.resolve(hostname).then(
      (addresses) => {
        const family = options.family === "IPv4" ? 4 : options.family === "IPv6" ? 6 : (options.family ?? 0);
        const candidates = family === 0 ? addresses : addresses.filter((address) => address.family === family);
        const refusals: string[] = [];
        const permitted = candidates.filter((address) => {
          const reason = forbiddenReason(address.address, this.allowList);
          if (reason) refusals.push(reason);
          return reason === undefined;
        });
        if (permitted.length === 0) {
          const why = refusals.length > 0 ? refusals.join("; ") : "no addresses";
          callback(new ForbiddenAddressError(`refused to connect: ${hostname} resolves to ${why}`), "", 0);
          return;
        }
        if (options.all) callback(null, permitted);
        else callback(null, permitted[0].address, permitted[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, "", 0),
    );
  }
}

/** Where a delivery's URL sends. */
interface Endpoint {
  https: boolean;
  /** Without an IPv6 literal's brackets. */
  hostname: string;
  port: number | undefined;
  path: string;
  /** The Host header: the host and a port that is not the scheme's default. */
  host: string;
}

type Target = Endpoint | { refusal: string };

/** What a delivery's URL comes to: where to send, or why not (not a URL, not http(s), an IP literal refused). */
function parseTarget(url: string, allowList: AllowList): Target {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { refusal: `the endpoint's URL is not a URL: ${url}` };
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") return { refusal: `the endpoint's URL is not http(s): ${url}` };
  const hostname = target.hostname.replace(/^\[(.*)\]$/, "$1");
  // Node connects to an IP literal without a lookup, so the guard in `lookup` never sees it: check it here.
  if (isIP(hostname)) {
    const reason = forbiddenReason(hostname, allowList);
    if (reason) return { refusal: `refused to connect: ${reason}` };
  }
  return {
    https: target.protocol === "https:",
    hostname,
    port: target.port ? Number(target.port) : undefined,
    path: `${target.pathname}${target.search}`,
    host: target.host,
  };
}

/** A transport error as the delivery log shows it. */
function describeError(error: NodeJS.ErrnoException): string {
  if (error instanceof ForbiddenAddressError) return error.message;
  // With several addresses Node reports an AggregateError whose message is empty: its parts say what happened.
  const parts = error instanceof AggregateError ? error.errors.map((inner: Error) => inner.message) : [];
  const message = error.message || parts.join("; ") || String(error.code ?? error);
  return message;
}
