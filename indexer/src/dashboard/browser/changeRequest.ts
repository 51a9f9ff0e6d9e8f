/** The header the gateway checks a state-changing dashboard request's CSRF token in (dashboardGuard.ts). */
const CSRF_HEADER = "x-openpay-csrf";

/**
 * Sends a state-changing request to the dashboard's own routes with the session's CSRF token (from the page's meta),
 * a JSON body when given; undefined when the gateway did not answer.
 */
export function sendChange(method: "POST" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<Response | undefined> {
  const token = document.querySelector<HTMLMetaElement>("meta[name=openpay-csrf]")?.content ?? "";
  const headers: Record<string, string> = { [CSRF_HEADER]: token };
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }).catch(() => undefined);
}
