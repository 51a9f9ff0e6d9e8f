/** The dashboard's session cookie: only the dashboard's paths get it (Path=/dashboard). */
export const SESSION_COOKIE = "openpay_dashboard";

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim() || undefined;
  }
  return undefined;
}

/**
 * The Set-Cookie of a session id: unreadable by scripts (HttpOnly), sent by no other site's request (SameSite=Strict),
 * only over https unless the gateway is on the operator's own machine, and gone when the session would be.
 */
export function sessionCookie(id: string, { secure, maxAgeSeconds }: { secure: boolean; maxAgeSeconds: number }): string {
  return `${SESSION_COOKIE}=${id}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}${secure ? "; Secure" : ""}`;
}

/** The Set-Cookie that removes the session cookie from the browser. */
export function clearedSessionCookie({ secure }: { secure: boolean }): string {
  return sessionCookie("", { secure, maxAgeSeconds: 0 });
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Whether the session cookie must be Secure at this public URL: always, but for http on the operator's own machine
 * (`npm start`). undefined when the URL is http on another host: a Secure cookie would never come back over it, and a
 * cookie that is not Secure would cross the network in clear, so the dashboard does not sign in there.
 */
export function cookieSecurity(publicUrl: string): boolean | undefined {
  const url = new URL(publicUrl);
  if (url.protocol === "https:") return true;
  return LOCAL_HOSTS.has(url.hostname) ? false : undefined;
}
