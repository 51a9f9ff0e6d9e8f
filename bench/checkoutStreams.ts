/**
 * The pushed status of bench/checkout.ts: how many idle checkout pages (server-sent event streams) one API process
 * holds, in how much memory, and how long a payment's change takes to reach its page. The API runs as its own process
 * (indexer/src/main.ts with ROLES=api over a fresh PostgreSQL database), so that its resident memory is its own; the
 * idle pages are raw TCP streams opened by child processes (bench/sseClients.ts); the timed pages are streams of this
 * process, whose payments it changes by writing to the database as the indexer or the page's beacon would.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { recordOffChainEvent } from "../indexer/src/ledger/offChainEvents";
import { openStore } from "../indexer/src/store/database";
import { createApiKey, createMerchant } from "../indexer/src/store/merchantStore";
import { startIndexerProcess } from "../indexer/test/support/indexerProcess";
import { INTENT_SIGNER_KEY, SETTINGS, type LocalChain } from "../indexer/test/support/localChain";
import { call } from "../indexer/test/support/merchantApiStack";
import { freshPostgresDatabase } from "../indexer/test/support/stores";
import { createBody } from "./apiLoad";

export interface StreamFigures {
  requested: number;
  opened: number;
  failed: number;
  /** Distinct payments the idle pages show. */
  payments: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  /** Seconds to open every idle stream (each gets its first event). */
  openSeconds: number;
  samples: number;
  /** Change → page, in ms: from the start of the write to the event's arrival at its page (the write included). */
  latency: Percentiles;
  /** From the write's commit being acknowledged to the event's arrival, in ms. */
  afterCommit: Percentiles;
  /** The write alone (its transaction, NOTIFY included), in ms. */
  write: Percentiles;
  fdLimit: string;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { p50: at(50), p90: at(90), p99: at(99), max: sorted.at(-1)! };
}

/** Opens `count` idle streams from a child process; resolves with how many opened once all were tried. */
function idleClients(url: string, ids: readonly string[], count: number): Promise<{ child: ChildProcess; opened: number; failed: number }> {
  const child = fork(path.join(__dirname, "sseClients.ts"), [], { execArgv: ["-r", "ts-node/register/transpile-only"] });
  child.send({ url, count, ids });
  return new Promise((resolve, reject) => {
    child.once("message", (message: { opened: number; failed: number }) => resolve({ child, ...message }));
    child.once("exit", (code) => reject(new Error(`bench/sseClients.ts exited ${code} before opening its streams`)));
  });
}

/** A page of this process: the events of `/checkout/<id>/events` as they arrive, with their arrival times. */
async function timedPage(url: string, id: string) {
  const response = await fetch(`${url}/checkout/${id}/events`, { headers: { accept: "text/event-stream" } });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const waiting: Array<(at: number) => void> = [];
  const arrived: number[] = [];
  let buffer = "";
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const at = performance.now();
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!message.startsWith("data: ")) continue;
        const waiter = waiting.shift();
        if (waiter) waiter(at);
        else arrived.push(at);
      }
    }
  })();
  return {
    /** The arrival time of the next event (one that already arrived, first). */
    next: () => new Promise<number>((resolve) => (arrived.length > 0 ? resolve(arrived.shift()!) : waiting.push(resolve))),
    close: () => reader.cancel(),
  };
}

export async function measureStreams(
  chain: LocalChain,
  { streams, perClientProcess, payments, samples }: { streams: number; perClientProcess: number; payments: number; samples: number },
): Promise<StreamFigures> {
  const database = await freshPostgresDatabase({ empty: true });
  const store = await openStore({ url: database.url });
  const merchant = await createMerchant(store.db, { name: "Bench shop", address: chain.record.demoMerchant!.merchant });
  const { key } = await createApiKey(store.db, merchant.id, "test");
  const api = startIndexerProcess("bench-api", {
    rpcUrl: chain.url,
    deploymentsDir: chain.deploymentsDir,
    databaseUrl: database.url,
    env: { ROLES: "api", INTENT_SIGNER_PRIVATE_KEY: INTENT_SIGNER_KEY, API_PORT: "0", API_RATE_LIMIT: "1000000" },
  });
  const clients: ChildProcess[] = [];
  const pages: Array<Awaited<ReturnType<typeof timedPage>>> = [];
  try {
    const listening = await api.log("merchant API listening", { timeoutMs: 60_000 });
    const url = String(listening.address);
    console.log(`  API process ${api.pid} at ${url}; creating ${payments} + ${samples} payments...`);
    const create = async (count: number, first: number) => {
      const ids: string[] = [];
      let next = first;
      const worker = async () => {
        while (next < first + count) {
          const { tokens: _tokens, ttl_seconds: _ttl, ...body } = createBody(next++, merchant.address);
          const response = await call({ url }, "POST", "/v1/payments", { key, body });
          if (response.status !== 201) throw new Error(`POST /v1/payments answered ${response.status}: ${JSON.stringify(response.body)}`);
          ids.push(response.body.id);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      return ids;
    };
    const idleIds = await create(payments, 0);
    const sampleIds = await create(samples, payments);
    // A few requests first, so that the baseline is a process that has served (its code loaded, its pools open).
    await Promise.all(idleIds.slice(0, 50).map((id) => call({ url }, "GET", `/checkout/${id}/status`)));
    const rssBeforeMiB = rssMiB(api.pid);

    console.log(`  opening ${streams} idle streams (${perClientProcess} per client process)...`);
    const started = performance.now();
    let opened = 0;
    let failed = 0;
    for (let first = 0; first < streams; first += perClientProcess) {
      const batch = await idleClients(url, idleIds, Math.min(perClientProcess, streams - first));
      clients.push(batch.child);
      opened += batch.opened;
      failed += batch.failed;
      console.log(`    ${opened} open, ${failed} failed; API RSS ${rssMiB(api.pid).toFixed(0)} MiB`);
    }
    const openSeconds = (performance.now() - started) / 1000;
    const rssAfterMiB = rssMiB(api.pid);

    console.log(`  timing ${samples} changes, one at a time, with the idle streams open...`);
    for (const id of sampleIds) pages.push(await timedPage(url, id));
    for (const page of pages) await page.next();
    const latencies: number[] = [];
    const afterCommit: number[] = [];
    const writes: number[] = [];
    for (const [i, id] of sampleIds.entries()) {
      const arrival = pages[i].next();
      const before = performance.now();
      // What the page's beacon writes: initiated → pending, its outbox event, and the NOTIFY, in one transaction.
      await recordOffChainEvent(store.db, chain.record.chainId, SETTINGS, id, { kind: "checkout_opened" });
      const committed = performance.now();
      const arrived = await arrival;
      writes.push(committed - before);
      latencies.push(arrived - before);
      afterCommit.push(Math.max(0, arrived - committed));
    }
    return {
      requested: streams,
      opened,
      failed,
      payments: Math.min(payments, streams),
      rssBeforeMiB,
      rssAfterMiB,
      openSeconds,
      samples,
      latency: percentiles(latencies),
      afterCommit: percentiles(afterCommit),
      write: percentiles(writes),
      fdLimit: readFileSync(`/proc/${api.pid}/limits`, "utf8")
        .match(/Max open files\s+(\d+)\s+(\d+)/)!
        .slice(1)
        .join(" / "),
    };
  } finally {
    for (const page of pages) await page.close().catch(() => undefined);
    for (const child of clients) child.kill();
    await api.stop();
    await store.close();
    await database.drop();
  }
}
