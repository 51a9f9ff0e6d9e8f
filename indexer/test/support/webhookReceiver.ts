import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A merchant's webhook endpoint on 127.0.0.1 for tests: records every request, answers as the test says (a status,
 * headers, a stall, a dropped connection), can go down (connection refused) and come back on the same port, and
 * notices when the same webhook-id is in flight twice at once.
 */

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
}

/** How to answer: a response, a stall (never answer), or a connection dropped without a response. */
export type Reply = { status: number; headers?: Record<string, string>; body?: string } | "stall" | "drop";

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** Webhook-ids seen in flight twice at the same moment to the same path ("<path> <id>"). */
  readonly overlaps: string[] = [];
  /** TCP connections accepted so far: fewer than requests when the sender keeps them alive. */
  connections = 0;
  /** The answer to each request; 200 by default. */
  reply: (webhook: ReceivedWebhook) => Reply | Promise<Reply> = () => ({ status: 200 });
  private readonly inFlight = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly stalled = new Set<ServerResponse>();
  private readonly waiters = new Set<() => void>();
  private server: Server;
  private port = 0;

  private constructor() {
    this.server = this.createServer();
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await receiver.listen();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/openpay`;
  }

  /** Distinct webhook-ids received. */
  get ids(): Set<string> {
    return new Set(this.received.map((webhook) => webhook.id));
  }

  private createServer(): Server {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", async () => {
        const header = (name: string) => String(request.headers[name] ?? "");
        const webhook: ReceivedWebhook = {
          id: header("webhook-id"),
          timestamp: header("webhook-timestamp"),
          signature: header("webhook-signature"),
          headers: request.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          path: request.url ?? "",
        };
        // One event goes to each endpoint (path) with the same id: only the same id on the same path is a repeat.
        const key = `${webhook.path} ${webhook.id}`;
        const flying = (this.inFlight.get(key) ?? 0) + 1;
        this.inFlight.set(key, flying);
        if (flying > 1) this.overlaps.push(key);
        this.received.push(webhook);
        this.notify();
        const landed = () => this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
        response.once("close", landed);
        const reply = await this.reply(webhook);
        if (reply === "stall") {
          this.stalled.add(response);
          return;
        }
        if (reply === "drop") {
          request.socket.destroy();
          return;
        }
        response.writeHead(reply.status, reply.headers);
        response.end(reply.body ?? "");
      });
    });
    server.on("connection", (socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    return server;
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.port, "127.0.0.1", () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Goes down: connections are refused (and open ones cut) until `restart`. */
  async stop(): Promise<void> {
    for (const response of this.stalled) response.destroy();
    this.stalled.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  /** Comes back on the same port. */
  async restart(): Promise<void> {
    this.server = this.createServer();
    await this.listen();
  }

  close(): Promise<void> {
    return this.stop();
  }

  private notify() {
    for (const wake of [...this.waiters]) wake();
  }

  /** Waits until `check` holds (checked at each request and every 50 ms); fails naming `what` after `timeoutMs`. */
  async until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`webhook receiver: not within ${timeoutMs} ms: ${what} (received ${this.received.length})`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, 50);
        this.waiters.add(wake);
      });
    }
  }
}
