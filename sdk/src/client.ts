import { randomUUID } from "node:crypto";
import { OpenPayError } from "./errors";
import type {
  Balances,
  CreatePaymentParams,
  IdempotentRequestOptions,
  ListPaymentsParams,
  Payment,
  PaymentList,
  Refund,
  RefundParams,
  WebhookEvent,
  WithdrawalParams,
  WithdrawalRequest,
} from "./types";
import { verifyWebhook, type WebhookRequestHeaders } from "./webhooks";

export const SDK_VERSION = "0.1.0";

export interface OpenPayOptions {
  /** `op_test_…` or `op_live_…`; default: the OPENPAY_KEY environment variable. */
  apiKey?: string;
  /** The gateway's PUBLIC_URL, e.g. https://pay.example.com; default: OPENPAY_URL, else http://127.0.0.1:8080. */
  baseUrl?: string;
  /** Retries after a network error, a 429 or a 5xx (never after another 4xx). Default 2. */
  maxRetries?: number;
  /** Longest wait before a retry; a Retry-After longer than this is not waited for (the error is thrown). Default 5000. */
  maxRetryDelayMs?: number;
  /** Time limit of one attempt. Default 30000. */
  timeoutMs?: number;
  /** A fetch implementation; default: the global fetch (Node ≥ 18). */
  fetch?: typeof fetch;
}

interface RequestSpec {
  method: "GET" | "POST";
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  idempotencyKey?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Seconds of a Retry-After header (delta-seconds or an HTTP date), or undefined. */
function retryAfterSeconds(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === "TimeoutError" || error.name === "AbortError") return "timed out";
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${error.message} (${detail})` : error.message;
}

/**
 * A client of the Open Pay merchant API. Creating requests carry an `Idempotency-Key` (yours or a random UUID),
 * the same on every retry, so that a retry after a lost answer never creates a second payment or refund.
 */
export class OpenPay {
  private readonly apiKey: string;
  readonly baseUrl: string;
  private readonly maxRetries: number;
  private readonly maxRetryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: OpenPayOptions = {}) {
    const apiKey = options.apiKey ?? process.env.OPENPAY_KEY;
    if (!apiKey) throw new TypeError("OpenPay: an API key is required (options.apiKey or OPENPAY_KEY)");
    this.apiKey = apiKey;
    this.baseUrl = (options.baseUrl ?? process.env.OPENPAY_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
    this.maxRetries = Math.max(0, options.maxRetries ?? 2);
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") throw new TypeError("OpenPay: no global fetch; use Node 18 or later, or pass options.fetch");
    this.fetchImpl = fetchImpl;
  }

  /** Creates a payment (`POST /v1/payments`): show its `checkout_url`, or its `payment_options`, to the customer. */
  createPayment(params: CreatePaymentParams, options: IdempotentRequestOptions = {}): Promise<Payment> {
    return this.request<Payment>({ method: "POST", path: "/v1/payments", body: params, idempotencyKey: options.idempotencyKey ?? randomUUID() });
  }

  /** One payment with its `history` (`GET /v1/payments/:id`). */
  getPayment(id: string): Promise<Payment> {
    return this.request<Payment>({ method: "GET", path: `/v1/payments/${encodeURIComponent(id)}` });
  }

  /** One page of payments, newest first (`GET /v1/payments`); pass `next_cursor` as `starting_after` for the next. */
  listPayments(filters: ListPaymentsParams = {}): Promise<PaymentList> {
    const time = (value: Date | string | undefined) => (value instanceof Date ? value.toISOString() : value);
    return this.request<PaymentList>({
      method: "GET",
      path: "/v1/payments",
      query: {
        status: Array.isArray(filters.status) ? filters.status.join(",") : filters.status,
        created_from: time(filters.created_from),
        created_to: time(filters.created_to),
        order_id: filters.order_id,
        token: filters.token,
        amount_min: filters.amount_min,
        amount_max: filters.amount_max,
        search: filters.search,
        limit: filters.limit === undefined ? undefined : String(filters.limit),
        starting_after: filters.starting_after,
      },
    });
  }

  /** Every payment matching `filters`, newest first, fetching page after page as the loop asks. */
  async *listAllPayments(filters: Omit<ListPaymentsParams, "starting_after"> = {}): AsyncGenerator<Payment, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.listPayments({ ...filters, starting_after: cursor });
      yield* page.data;
      cursor = page.has_more && page.next_cursor ? page.next_cursor : undefined;
    } while (cursor !== undefined);
  }

  /**
   * Records a refund of a paid payment (`POST /v1/payments/:id/refunds`) and returns the escrow transaction to sign
   * and send from the merchant address. Default: everything still refundable, to the payment's refund_address.
   */
  refund(paymentId: string, params: RefundParams = {}, options: IdempotentRequestOptions = {}): Promise<Refund> {
    const body: RefundParams = {};
    if (params.amount !== undefined) body.amount = params.amount;
    if (params.to !== undefined) body.to = params.to;
    return this.request<Refund>({
      method: "POST",
      path: `/v1/payments/${encodeURIComponent(paymentId)}/refunds`,
      body,
      idempotencyKey: options.idempotencyKey ?? randomUUID(),
    });
  }

  /** The merchant's escrow balance per token as the gateway indexed it (`GET /v1/balances`), with the block it is as of. */
  getBalances(): Promise<Balances> {
    return this.request<Balances>({ method: "GET", path: "/v1/balances" });
  }

  /**
   * Prepares a withdrawal of the escrow balance to the merchant's payout wallet (`POST /v1/withdrawals`): returns the
   * escrow `transaction` to sign and send from the merchant address (see `sendMerchantTransaction`), and the same
   * call as a Safe Transaction Builder batch. The webhook `balance.withdrawn` follows once it is confirmed.
   */
  requestWithdrawal(params: WithdrawalParams, options: IdempotentRequestOptions = {}): Promise<WithdrawalRequest> {
    return this.request<WithdrawalRequest>({
      method: "POST",
      path: "/v1/withdrawals",
      body: { token: params.token, amount: params.amount },
      idempotencyKey: options.idempotencyKey ?? randomUUID(),
    });
  }

  /** See {@link verifyWebhook}: needs no API key, the endpoint's `whsec_…` secret. */
  verifyWebhook(body: string | Uint8Array, headers: WebhookRequestHeaders, secret: string | readonly string[]): WebhookEvent {
    return verifyWebhook(body, headers, secret);
  }

  private async request<T>(spec: RequestSpec): Promise<T> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(spec.query ?? {})) if (value !== undefined) search.set(name, value);
    const query = search.toString();
    const url = `${this.baseUrl}${spec.path}${query ? `?${query}` : ""}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.apiKey}`,
      accept: "application/json",
      "user-agent": `openpay-sdk-node/${SDK_VERSION}`,
    };
    if (spec.body !== undefined) headers["content-type"] = "application/json";
    if (spec.idempotencyKey !== undefined) headers["idempotency-key"] = spec.idempotencyKey;
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const what = `${spec.method} ${spec.path}`;

    for (let attempt = 0; ; attempt++) {
      const retriesLeft = attempt < this.maxRetries;
      let response: Response;
      try {
        response = await this.fetchImpl(url, { method: spec.method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (error) {
        if (retriesLeft) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw new OpenPayError({
          status: 0,
          type: "connection_error",
          message: `could not reach the Open Pay API at ${this.baseUrl} (${what}, ${attempt + 1} attempt${attempt === 0 ? "" : "s"}): ${describeCause(error)}`,
          cause: error,
        });
      }

      const text = await response.text().catch(() => "");
      if (response.ok) {
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new OpenPayError({
            status: response.status,
            type: "api_error",
            message: `${what}: the API answered ${response.status} with a body that is not JSON`,
          });
        }
      }

      const error = this.errorOf(response, text, what);
      const retriable = response.status === 429 || response.status >= 500;
      if (retriable && retriesLeft) {
        const delay = error.retryAfter !== undefined ? error.retryAfter * 1000 : this.backoff(attempt);
        if (delay <= this.maxRetryDelayMs) {
          await sleep(delay);
          continue;
        }
      }
      throw error;
    }
  }

  /** Exponential backoff with jitter: about 0.5 s, 1 s, 2 s, … capped by maxRetryDelayMs. */
  private backoff(attempt: number): number {
    const base = Math.min(500 * 2 ** attempt, this.maxRetryDelayMs);
    return base / 2 + Math.random() * (base / 2);
  }

  private errorOf(response: Response, text: string, what: string): OpenPayError {
    const retryAfter = retryAfterSeconds(response.headers.get("retry-after"));
    let parsed: { error?: { type?: unknown; message?: unknown; field?: unknown } } | undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const apiError = parsed?.error;
    if (apiError && typeof apiError.type === "string" && typeof apiError.message === "string") {
      return new OpenPayError({
        status: response.status,
        type: apiError.type,
        message: apiError.message,
        field: typeof apiError.field === "string" ? apiError.field : undefined,
        retryAfter,
      });
    }
    const start = text.replace(/\s+/g, " ").trim().slice(0, 200);
    const contentType = response.headers.get("content-type") ?? "no content-type";
    return new OpenPayError({
      status: response.status,
      type: "api_error",
      message:
        `${what}: HTTP ${response.status} ${response.statusText} that is not an Open Pay API error (${contentType}` +
        `${start ? `: "${start}"` : ", empty body"}); is ${this.baseUrl} the gateway's URL, or is a proxy in the way?`,
      retryAfter,
    });
  }
}
