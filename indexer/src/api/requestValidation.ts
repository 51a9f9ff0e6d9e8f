import type { FastifySchemaCompiler } from "fastify";
import type { z } from "zod";
import { ApiError } from "../ledger/apiErrors";

/** The field a zod issue is about, as a client wrote it (`metadata.colour`, `tokens.1`), or what part of the request. */
function fieldOf(issue: z.core.$ZodIssue, part: string): string {
  if (issue.code === "unrecognized_keys") return [...issue.path, issue.keys[0]].join(".");
  return issue.path.length > 0 ? issue.path.join(".") : part;
}

function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
  if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) return "is required";
  return issue.message.replace(/^Invalid input: /, "");
}

const PARTS: Record<string, string> = { body: "body", querystring: "query", params: "path", headers: "headers" };

/**
 * Validates each part of a request with its zod schema; the first problem becomes a 400 naming the field, e.g.
 * `amount_usd: must be a positive USD amount as a decimal string such as "12.50"`.
 */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const part = PARTS[httpPart ?? "body"] ?? "body";
  return (data: unknown) => {
    // A POST without a body reaches validation as null: it is no body, which a route with an optional body accepts.
    const result = schema.safeParse(part === "body" && data === null ? undefined : data);
    if (result.success) return { value: result.data };
    const issue = result.error.issues[0];
    const field = fieldOf(issue, part);
    return { error: new ApiError(400, "invalid_request_error", `${field}: ${messageOf(issue)}`, field) };
  };
};
