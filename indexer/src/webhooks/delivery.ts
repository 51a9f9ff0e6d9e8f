import { promises as dns, type LookupAddress } from "node:dns";
import type { IncomingHttpHeaders } from "node:http";
import { isIP, type LookupFunction } from "node:net";
import { performance } from "node:perf_hooks";
import { Agent, buildConnector, type Dispatcher } from "undici";
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
  /**
   * The most connections open to one origin (no limit when absent). A worker passes its concurrency: it never has more
   * requests in flight, and without a cap a request sent just as another's finishes opens a connection needlessly.
   */
  connectionsPerOrigin?: number;
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

/** Errors of a connection that dropped before any response: on a reused keep-alive connection, the request never reached the server. */
const DROPPED_CONNECTION_ERRORS = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE", "ECONNABORTED"]);

/** Marks an error of a socket with the bytes it had read: more than none means earlier responses, so a reused socket. */
const SOCKET_BYTES_READ = Symbol("socketBytesRead");
type SocketFault = Error & { code?: string; [SOCKET_BYTES_READ]?: number; socket?: { bytesRead?: number } };

/**
 * Sends webhook deliveries over keep-alive connections (many deliveries a second go to the same few hosts, and a TLS
 * handshake per delivery would cost more than the delivery), with undici: a fraction of node:http's CPU per request.
 */
export class WebhookClient {
  private readonly allowList: AllowList;
  private readonly resolve: Resolve;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly userAgent: string;
  /** A pool of connections per origin; redirects are not followed (undici follows none unless told to). */
  private readonly agent: Agent;

  constructor(options: WebhookClientOptions = {}) {
    this.allowList = options.allowList ?? NO_ALLOWED_RANGES;
    this.resolve = options.resolve ?? systemResolve;
    this.timeoutMs = options.timeoutMs ?? DELIVERY_TIMEOUT_MS;
    this.maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    this.userAgent = options.userAgent ?? WEBHOOK_USER_AGENT;
    const connector = buildConnector({ lookup: this.guardedLookup.bind(this) });
    this.agent = new Agent({
      connections: options.connectionsPerOrigin ?? null,
      // Idle sockets are closed before typical servers' own keep-alive timeouts (Node's 5 s, nginx's 75 s) would.
      keepAliveTimeout: 4_000,
      // The attempt's own deadline (`post`) bounds the whole exchange; these only must not cut it shorter.
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      connect: (connectOptions, callback) =>
        connector(connectOptions, (error, socket) => {
          // The socket's errors reach the request without it: note what it had read, to tell a reused socket.
          socket?.on("error", (fault: SocketFault) => {
            fault[SOCKET_BYTES_READ] ??= socket.bytesRead;
          });
          if (error) callback(error, null);
          else callback(null, socket!);
        }),
    });
  }

  /** POSTs `body` to `url` with the signature headers; never throws. */
  async post(url: string, body: string, headers: WebhookHeaders): Promise<DeliveryResult> {
    const started = performance.now();
    const finish = (result: Omit<DeliveryResult, "durationMs" | "gone"> & { gone?: boolean }): DeliveryResult => ({
      gone: false,
      ...result,
      durationMs: Math.round(performance.now() - started),
    });
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return finish({ ok: false, error: `the endpoint's URL is not a URL: ${url}` });
    }
    if (target.protocol !== "http:" && target.protocol !== "https:") return finish({ ok: false, error: `the endpoint's URL is not http(s): ${url}` });
    const hostname = target.hostname.replace(/^\[(.*)\]$/, "$1");
    // Node connects to an IP literal without a lookup, so the guard in `lookup` never sees it: check it here.
    if (isIP(hostname)) {
      const reason = forbiddenReason(hostname, this.allowList);
      if (reason) return finish({ ok: false, error: `refused to connect: ${reason}` });
    }
    const deadline = started + this.timeoutMs;
    let outcome = await this.attempt(target, body, headers, deadline);
    if (outcome.staleSocket) outcome = await this.attempt(target, body, headers, deadline);
    return finish(outcome.result);
  }

  /** Closes the connections (in-flight deliveries fail, as they would at their deadline). */
  close(): void {
    this.agent.destroy().catch(() => undefined);
  }

  private async attempt(
    target: URL,
    body: string,
    headers: WebhookHeaders,
    deadline: number,
  ): Promise<{ result: Omit<DeliveryResult, "durationMs">; staleSocket?: boolean }> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), Math.max(0, deadline - performance.now()));
    let responded = false;
    try {
      const response = await this.agent.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: "POST",
        signal: abort.signal,
        headers: {
          "content-type": "application/json",
          "user-agent": this.userAgent,
          ...headers,
        },
        body,
      });
      responded = true;
      const status = response.statusCode;
      if (status >= 200 && status < 300) {
        // Read (to keep the connection) up to the cap; a longer body drops the connection instead.
        await response.body.dump({ limit: this.maxResponseBytes });
        return { result: { ok: true, status, gone: false } };
      }
      return { result: this.judge(status, response.headers, await this.excerpt(response.body)) };
    } catch (error) {
      if (abort.signal.aborted) return { result: { ok: false, gone: false, error: `no complete response within ${this.timeoutMs} ms` } };
      const fault = error as SocketFault;
      const bytesRead = fault[SOCKET_BYTES_READ] ?? fault.socket?.bytesRead ?? 0;
      const stale = !responded && bytesRead > 0 && DROPPED_CONNECTION_ERRORS.has(fault.code ?? "");
      return { result: { ok: false, gone: false, error: describeError(fault) }, staleSocket: stale };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The start of an error response's body, for the delivery log. The body is read only up to the cap: a receiver has
   * nothing more to say, and reading on is a way to hold the worker.
   */
  private async excerpt(body: Dispatcher.ResponseData["body"]): Promise<string> {
    const kept: Buffer[] = [];
    let read = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (read < RESPONSE_EXCERPT_BYTES) kept.push(chunk.subarray(0, RESPONSE_EXCERPT_BYTES - read));
        read += chunk.length;
        if (read > this.maxResponseBytes) break;
      }
    } catch {
      // A body cut short still has its start to show.
    }
    return Buffer.concat(kept).toString("utf8");
  }

  /** The result of an error response. */
  private judge(status: number, headers: IncomingHttpHeaders, excerpt: string): Omit<DeliveryResult, "durationMs"> {
    const said = excerpt.replace(/\s+/g, " ").trim();
    const tail = said ? `: ${said}` : "";
    if (status === 410) return { ok: false, status, gone: true, error: "responded 410 Gone" };
    if (status >= 300 && status < 400) {
      const location = headers.location;
      return { ok: false, status, gone: false, error: `responded ${status}, a redirect (not followed${location ? `: Location ${location}` : ""})` };
    }
    const retryAfter = headers["retry-after"];
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, new Date()) : undefined;
    return { ok: false, status, gone: false, retryAfterMs, error: `responded ${status}${tail}` };
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

/** A transport error as the delivery log shows it. */
function describeError(error: NodeJS.ErrnoException): string {
  if (error instanceof ForbiddenAddressError) return error.message;
  // undici's "other side closed" says less than it means to a merchant reading the log.
  if (error.code === "UND_ERR_SOCKET") return `the connection closed before a response (${error.message})`;
  // With several addresses Node reports an AggregateError whose message is empty: its parts say what happened.
  const parts = error instanceof AggregateError ? error.errors.map((inner: Error) => inner.message) : [];
  const message = error.message || parts.join("; ") || String(error.code ?? error);
  return message;
}
