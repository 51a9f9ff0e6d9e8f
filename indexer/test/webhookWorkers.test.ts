import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { openStore, type Store } from "../src/store/database";
import { notifyWebhookWorkers } from "../src/store/paymentStore";
import { useLocalChain } from "./support/localChain";
import { waitingAnnouncements } from "./support/paymentRecords";
import { freshPostgresDatabase } from "./support/stores";
import { eventually, newEndpoint, newMerchant, newPayment, openCheckout, WEBHOOK_CHAIN_ID } from "./support/webhookFixtures";
import { WebhookReceiver } from "./support/webhookReceiver";
import { killWorkerProcesses, WorkerProcess } from "./support/webhookWorkerProcess";

const READY = "webhook worker running";

describe("webhook worker processes on one PostgreSQL database", function () {
  this.timeout(120_000);

  let database: { url: string; drop: () => Promise<void> };
  let store: Store;
  let receiver: WebhookReceiver;
  // The worker asks the chain for its id (31337, the fixtures' WEBHOOK_CHAIN_ID) and reads that chain's deployment.
  const chain = useLocalChain();

  const start = (name: string, env: Record<string, string | undefined> = {}) =>
    new WorkerProcess(name, {
      DATABASE_URL: database.url,
      RPC_URLS: chain().url,
      OPENPAY_DEPLOYMENTS_DIR: chain().deploymentsDir,
      WEBHOOK_ALLOWED_CIDRS: "127.0.0.1/32",
      LOG_LEVEL: "info",
      ...env,
    });

  const deliveryStatuses = async () => {
    const rows = await store.db.selectFrom("webhook_deliveries").select(["status"]).execute();
    return rows.map((row) => row.status);
  };

  beforeEach(async function () {
    database = await freshPostgresDatabase();
    store = await openStore({ url: database.url });
    receiver = await WebhookReceiver.start();
  });

  afterEach(async function () {
    await killWorkerProcesses();
    await receiver.close();
    await store.close();
    await database.drop();
  });

  it("loses nothing when a worker is killed with SIGKILL mid-batch: restarted, it delivers every event, with the same webhook-ids", async function () {
    const { db } = store;
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, receiver.url);
    // The receiver holds every request: the worker dies with a batch in flight.
    receiver.reply = () => "stall";
    const first = start("worker 1");
    await first.log(READY);
    const payments: Hex[] = [];
    for (let i = 0; i < 40; i++) payments.push(await newPayment(db, merchant));
    await notifyWebhookWorkers(db);
    await receiver.until("a batch in flight", () => receiver.received.length >= 20);
    await first.kill();
    const inFlight = new Set(receiver.ids);

    receiver.reply = () => ({ status: 200 });
    // What the killed worker had claimed is leased to it for a minute: let that time pass.
    await db
      .updateTable("webhook_deliveries")
      .set({ leased_until: new Date(Date.now() - 1_000) })
      .where("leased_until", "is not", null)
      .execute();
    for (const id of payments.slice(0, 10)) await openCheckout(db, id);
    const second = start("worker 2");
    await second.log(READY);
    await eventually(
      "every delivery succeeded",
      async () => {
        const statuses = await deliveryStatuses();
        return statuses.length === 50 && statuses.every((status) => status === "succeeded");
      },
      60_000,
    );

    const events = await db.selectFrom("webhook_events").select(["id", "type"]).execute();
    expect(events).to.have.length(50);
    expect(events.filter((event) => event.type === "payment.created")).to.have.length(40);
    expect(await waitingAnnouncements(db)).to.deep.equal([]);
    for (const event of events) expect(receiver.ids.has(event.id), event.id).to.equal(true);
    for (const id of inFlight)
      expect(
        receiver.received.filter((webhook) => webhook.id === id),
        `${id} sent again after the kill`,
      ).to.have.length(2);
  });

  it("two workers share the work and never deliver the same attempt at the same time; SIGTERM stops them cleanly", async function () {
    const { db } = store;
    const merchant = await newMerchant(db);
    await newEndpoint(db, merchant, `${receiver.url}?a`);
    await newEndpoint(db, merchant, `${receiver.url}?b`);
    // Slow enough that both workers have deliveries in flight together; every third first attempt fails (its retry,
    // 5 s later, succeeds).
    let firstAttempts = 0;
    const seen = new Set<string>();
    receiver.reply = async (webhook) => {
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
      const delivery = `${webhook.path} ${webhook.id}`;
      const first = !seen.has(delivery);
      seen.add(delivery);
      return first && ++firstAttempts % 3 === 0 ? { status: 503, headers: { "retry-after": "1" } } : { status: 200 };
    };
    const workers = [start("worker A", { LOG_LEVEL: "debug" }), start("worker B", { LOG_LEVEL: "debug" })];
    await Promise.all(workers.map((worker) => worker.log(READY)));
    const payments: Hex[] = [];
    for (let i = 0; i < 150; i++) payments.push(await newPayment(db, merchant));
    await notifyWebhookWorkers(db);
    for (const id of payments.slice(0, 50)) await openCheckout(db, id);

    await eventually(
      "every delivery succeeded",
      async () => {
        const statuses = await deliveryStatuses();
        return statuses.length === 400 && statuses.every((status) => status === "succeeded");
      },
      60_000,
    );

    expect(receiver.overlaps, "webhook-ids in flight twice at once").to.deep.equal([]);
    const attempts = await db.selectFrom("webhook_attempts").select(["delivery_id", "attempt"]).execute();
    const keys = attempts.map((attempt) => `${attempt.delivery_id}/${attempt.attempt}`);
    expect(new Set(keys).size, "each attempt of a delivery made once").to.equal(keys.length);
    expect(receiver.received.length).to.equal(attempts.length);
    for (const worker of workers) {
      expect(worker.logs.filter((line) => line.msg === "webhook attempt").length, `${worker.name} delivered some`).to.be.greaterThan(0);
    }

    const exits = await Promise.all(workers.map((worker) => worker.stop()));
    expect(exits).to.deep.equal([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    for (const worker of workers)
      expect(
        worker.logs.some((line) => line.msg === "stopped"),
        worker.name,
      ).to.equal(true);
  });

  it("exits 2 with one line naming the variable when its configuration is wrong", async function () {
    const empty = mkdtempSync(path.join(os.tmpdir(), "openpay-no-deployments-"));
    try {
      const runs = [
        start("no chain", { RPC_URLS: undefined }),
        start("bad allow-list", { WEBHOOK_ALLOWED_CIDRS: "127.0.0.1/32, intranet" }),
        start("no deployment", { OPENPAY_DEPLOYMENTS_DIR: empty }),
      ];
      const exits = await Promise.all(runs.map((run) => run.exited));
      expect(exits.map((exit) => exit.code)).to.deep.equal([2, 2, 2]);
      expect(runs[0].text.join("\n")).to.match(/^error: RPC_URLS is not set/);
      expect(runs[1].text.join("\n")).to.match(/^error: WEBHOOK_ALLOWED_CIDRS: "intranet" is not a CIDR range/);
      expect(runs[2].text.join("\n")).to.match(new RegExp(`^error: .*${WEBHOOK_CHAIN_ID}\\.json not found`));
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
