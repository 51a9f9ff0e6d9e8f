/** Hosts a merchant may name over plain http: its own machine, while it builds its shop. */
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * An origin allowed to frame a checkout, as the CSP's `frame-ancestors` takes it: scheme, host and port only, https
 * (http only for localhost). Returns the origin in its normal form, or why `value` is not one.
 */
export function parseFrameOrigin(value: string): { origin: string } | { problem: string } {
  if (value.includes("*")) return { problem: `"${value}" must name one host: wildcards are not allowed` };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: `"${value}" is not an origin such as https://shop.example` };
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOCAL_HOSTS.has(url.hostname))) {
    return { problem: `"${value}" must use https (http only for localhost)` };
  }
  if (url.username || url.password || url.pathname !== "/" || /[?#]/.test(value)) {
    return { problem: `"${value}" must be an origin only (scheme, host and optional port), with no path, query or credentials` };
  }
  return { origin: url.origin };
}

/**
 * The checkout page's Content-Security-Policy: everything from the API's own origin, and framed only by the
 * merchant's listed origins (`'none'` when it lists none).
 */
export function checkoutCsp(frameOrigins: readonly string[]): string {
  const ancestors = frameOrigins.length > 0 ? frameOrigins.join(" ") : "'none'";
  return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors ${ancestors}`;
}
