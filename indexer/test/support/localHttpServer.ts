import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * An HTTP server on 127.0.0.1 at a free port, for the tests' stand-ins of JSON-RPC providers (the faulty proxy, the
 * simulated chain's views). It keeps its sockets so that `close` cuts kept-alive connections at once, as a provider
 * going away does, and answers a handler's failure with a 500 naming `label`.
 */
export interface LocalHttpServer {
  url: string;
  /** Stops listening and cuts every open connection; resolves once the server is closed. */
  close(): Promise<void>;
}

export async function startLocalHttpServer(
  label: string,
  handle: (request: http.IncomingMessage, response: http.ServerResponse) => Promise<void>,
): Promise<LocalHttpServer> {
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("request", (request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent && !response.destroyed) {
        response.writeHead(500, { "content-type": "text/plain" });
        response.end(`${label} failure: ${(error as Error).message}`);
      }
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      return done;
    },
  };
}

/** A request's body as text. */
export function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}
