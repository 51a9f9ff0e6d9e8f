/** The kinds of error the API answers with, as Stripe names them. */
export type ApiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "idempotency_error"
  | "rate_limit_error"
  | "conflict_error"
  | "api_error";

/** The JSON body of every error: `{ "error": { type, message, field? } }`, field naming the part of the request at fault. */
export interface ApiErrorBody {
  error: { type: ApiErrorType; message: string; field?: string };
}

/** An error the API answers with its status and body; anything else is a 500. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly statusCode: number,
    readonly type: ApiErrorType,
    message: string,
    readonly field?: string,
    /** Seconds after which the same request may succeed, sent as the Retry-After header. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  body(): ApiErrorBody {
    return { error: { type: this.type, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

export const invalidField = (field: string, message: string) => new ApiError(400, "invalid_request_error", `${field}: ${message}`, field);
export const notFound = (what: string, id: string) => new ApiError(404, "not_found_error", `no ${what} ${id}`, "id");
