/**
 * Idle checkout pages for bench/checkout.ts, in a process of their own (a process holds at most `ulimit -n` sockets):
 * opens `count` server-sent event streams to `/checkout/<id>/events` over raw TCP, the ids taken in turn, and tells
 * its parent (IPC) once each has received its first event (or failed); then holds them until it is killed.
 *
 * Forked by the benchmark, which sends it `{ url, count, ids }` (the ids are too many for the environment).
 */
import { connect, type Socket } from "node:net";

interface Order {
  url: string;
  count: number;
  ids: string[];
}
/** Connections being opened at once: enough to be quick, few enough not to overflow the server's accept queue. */
const AT_ONCE = 200;

const sockets: Socket[] = [];
let opened = 0;
let failed = 0;

function openOne(url: URL, id: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let first = true;
    socket.setNoDelay(true);
    socket.on("connect", () => socket.write(`GET /checkout/${id}/events HTTP/1.1\r\nhost: ${url.host}\r\naccept: text/event-stream\r\n\r\n`));
    socket.on("data", (chunk) => {
      if (!first || !chunk.toString("latin1").includes("\ndata: ")) return;
      first = false;
      opened += 1;
      resolve();
    });
    socket.on("error", () => {
      if (first) {
        first = false;
        failed += 1;
        resolve();
      }
    });
    sockets.push(socket);
  });
}

async function open({ url, count, ids }: Order): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await openOne(new URL(url), ids[index % ids.length]);
    }
  };
  await Promise.all(Array.from({ length: AT_ONCE }, worker));
  // The parent ends this process when it is done with the streams.
  process.send!({ opened, failed });
}

process.once("message", (order: Order) => void open(order));
