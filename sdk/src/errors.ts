/**
 * An error of the API (its JSON `{error: {type, message, field}}` and the HTTP status), or a failure to get an
 * answer at all: `status` 0 and `type` "connection_error" when the request never got a response.
 */
export class OpenPayError extends Error {
  /** HTTP status; 0 when no response arrived (network failure, timeout). */
  readonly status: number;
  /** The API's `error.type` (`invalid_request_error`, `conflict_error`, …), `connection_error` or `api_error`. */
  readonly type: string;
  /** The part of the request at fault (`amount_usd`, `metadata.colour`, `id`, `Idempotency-Key`), when one is. */
  readonly field: string | undefined;
  /** Seconds the API asked to wait (429, 503), when it said. */
  readonly retryAfter: number | undefined;

  constructor(init: { status: number; type: string; message: string; field?: string; retryAfter?: number; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "OpenPayError";
    this.status = init.status;
    this.type = init.type;
    this.field = init.field;
    this.retryAfter = init.retryAfter;
  }
}

/** Why a webhook delivery was refused by `verifyWebhook`. */
export type WebhookErrorReason = "missing_header" | "bad_signature" | "stale_timestamp" | "invalid_payload";

/** A webhook delivery that is not authentic, too old or too new, or not an Open Pay event: answer it 400. */
export class WebhookVerificationError extends Error {
  readonly reason: WebhookErrorReason;

  constructor(reason: WebhookErrorReason, message: string) {
    super(message);
    this.name = "WebhookVerificationError";
    this.reason = reason;
  }
}
