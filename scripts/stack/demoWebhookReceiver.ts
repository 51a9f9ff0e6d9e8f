import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { verifyWebhook, WebhookVerificationError, type WebhookEvent } from "../../sdk/src";

/** A delivery as the receiver judged it: verified with the endpoint's secret, or refused and why. */
export type Delivery = { verified: true; id: string; event: WebhookEvent } | { verified: false; id: string; reason: string };

/**
 * The demo merchant's webhook receiver on 127.0.0.1: reads each delivery's raw body, checks its signature with the
 * SDK's verifyWebhook (as docs/sdk.md shows a merchant doing), answers at once and hands the result on.
 */
export class DemoWebhookReceiver {
  private server?: Server;
  /** Set once the endpoint is registered: the API returns the secret then. */
  secret?: string;
  url = "";

  constructor(private readonly onDelivery: (delivery: Delivery) => void) {}

  async listen(): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (request.method !== "POST" || request.url !== "/webhooks") {
          response.writeHead(404).end();
          return;
        }
        const delivery = this.judge(Buffer.concat(chunks), request.headers);
        response.writeHead(delivery.verified ? 204 : 400).end();
        this.onDelivery(delivery);
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(0, "127.0.0.1", resolve);
    });
    const { port } = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${port}/webhooks`;
    return this.url;
  }

  private judge(body: Buffer, headers: IncomingHttpHeaders): Delivery {
    const id = String(headers["webhook-id"] ?? "?");
    if (!this.secret) return { verified: false, id, reason: "arrived before the endpoint's secret was known" };
    try {
      return { verified: true, id, event: verifyWebhook(body, headers, this.secret) };
    } catch (error) {
      return { verified: false, id, reason: error instanceof WebhookVerificationError ? `${error.reason}: ${error.message}` : String(error) };
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
