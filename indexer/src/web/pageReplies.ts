import type { FastifyReply } from "fastify";
import { checkoutCsp } from "../payments/frameAncestors";

/**
 * Sends a page of the gateway (the checkout's, the dashboard's): everything it loads comes from the gateway's own
 * origin (the CSP), it is framed only by `frameOrigins` (none: no clickjacking), never cached (it shows live state),
 * and its address is not sent on to other sites.
 */
export function sendPage(reply: FastifyReply, html: string, frameOrigins: readonly string[] = []): FastifyReply {
  return reply
    .header("content-type", "text/html; charset=utf-8")
    .header("content-security-policy", checkoutCsp(frameOrigins))
    .header("cache-control", "no-store")
    .header("referrer-policy", "same-origin")
    .header("x-content-type-options", "nosniff")
    .send(html);
}

/** A route handler serving a page's static asset (style, script, image) of `type`, cached for a few minutes. */
export function staticAsset(type: string, body: () => string | Promise<string>) {
  return async (_request: unknown, reply: FastifyReply) =>
    reply
      .header("content-type", type)
      .header("cache-control", "public, max-age=300")
      .header("x-content-type-options", "nosniff")
      .send(await body());
}
