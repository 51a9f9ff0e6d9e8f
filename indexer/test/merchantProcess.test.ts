import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { Webhook } from "standardwebhooks";
import { simulate } from "../../scripts/operator/simulate";
import { openStore } from "../src/store/database";
import { createApiKey, createMerchant } from "../src/store/merchantStore";
import { killIndexerProcesses, runIndexerToExit, startIndexerProcess, type IndexerProcess } from "./support/indexerProcess";
import { mine, useLocalChain } from "./support/localChain";
import { call, INTENT_SIGNER_KEY } from "./support/merchantApiStack";
import { freshPostgresDatabase } from "./support/stores";

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A merchant's webhook receiver on 127.0.0.1 that keeps every request. */
async function startReceiver(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      received.push({ headers: request.headers as Record<string, string>, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/webhooks`, received, server };
}

describe("the Open Pay process: indexer, merchant API and webhook worker together (PostgreSQL)", function () {
  this.timeout(180_000);
  const chain = useLocalChain();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async function () {
    await killIndexerProcesses();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("one process with every role serves the API, indexes the payment and delivers signed webhooks up to payment.completed", async function () {
    const database = await freshPostgresDatabase();
    cleanups.push(database.drop);
    const store = await openStore({ url: database.url });
    const merchant = await createMerchant(store.db, { name: "Demo shop", address: chain().record.demoMerchant!.merchant });
    const { key } = await createApiKey(store.db, merchant.id, "test");
    await store.close();
    const receiver = await startReceiver();
    cleanups.push(() => receiver.server.close());

    const process: IndexerProcess = startIndexerProcess("all roles", {
      rpcUrl: chain().url,
      deploymentsDir: chain().deploymentsDir,
      databaseUrl: database.url,
      env: { ROLES: "indexer,api,webhooks", INTENT_SIGNER_PRIVATE_KEY: INTENT_SIGNER_KEY, API_PORT: "0", WEBHOOK_ALLOWED_CIDRS: "127.0.0.1/32" },
    });
    const listening = await process.log("merchant API listening", { timeoutMs: 60_000 });
    const api = { url: String(listening.address) };
    // The API process serves the dashboard too: its sign-in page and the script bundled for it.
    const dashboard = await call(api, "GET", "/dashboard");
    expect(dashboard.status).to.equal(200);
    expect(dashboard.body).to.include('id="sign-in"');
    expect((await call(api, "GET", "/dashboard/assets/dashboard.js")).status).to.equal(200);

    const endpoint = await call(api, "POST", "/v1/webhook_endpoints", { key, body: { url: receiver.url } });
    expect(endpoint.status).to.equal(201);
    const created = await call(api, "POST", "/v1/payments", { key, body: { amount_usd: "25.00", order_id: "order-1" } });
    expect(created.status).to.equal(201);
    const payment = created.body;

    const folder = mkdtempSync(path.join(tmpdir(), "open-pay-intent-"));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    const intentFile = path.join(folder, "intent.json");
    writeFileSync(intentFile, JSON.stringify(payment.intent));
    await simulate(hre, { intent: intentFile, scenario: "full", token: "USDT" }, () => undefined);
    await mine(12);

    const types = () => receiver.received.map((delivery) => JSON.parse(delivery.body).type as string);
    await process.until("payment.completed delivered", () => (types().includes("payment.completed") ? true : undefined), { timeoutMs: 60_000 });
    expect(types()).to.include.members(["payment.created", "payment.confirming", "payment.completed"]);
    const verifier = new Webhook(endpoint.body.secret);
    for (const delivery of receiver.received) {
      const body = verifier.verify(delivery.body, delivery.headers) as { type: string; data: { id: string; sequence: number } };
      expect(body.data.id).to.equal(payment.id);
    }
    const completed = receiver.received.map((delivery) => JSON.parse(delivery.body)).find((body) => body.type === "payment.completed");
    expect(completed.data).to.include({ status: "paid", previous_status: "confirming", order_id: "order-1" });

    const read = await call(api, "GET", `/v1/payments/${payment.id}`, { key });
    expect(read.body).to.include({ status: "paid", received_usd: "25.00", remaining_usd: "0.00" });
    expect(read.body.confirmations).to.deep.equal({ seen: 12, required: 12 });
    expect(read.body.history.map((entry: { to: string }) => entry.to)).to.deep.equal(["confirming", "paid"]);
    expect((await process.stop()).code).to.equal(0);
  });

  it("refuses to start the API without the intent signer's key, or on a port in use, naming the variable (exit 2)", async function () {
    const database = await freshPostgresDatabase();
    cleanups.push(database.drop);
    const common = { RPC_URLS: chain().url, OPENPAY_DEPLOYMENTS_DIR: chain().deploymentsDir, DATABASE_URL: database.url, STATUS_PORT: "0" };
    const noSigner = await runIndexerToExit({ ...common, ROLES: "api" });
    expect(noSigner.code).to.equal(2);
    expect(noSigner.stderr).to.match(/^error: INTENT_SIGNER_PRIVATE_KEY is not set/m);

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => taken.close());
    const port = String((taken.address() as { port: number }).port);
    const busy = await runIndexerToExit({ ...common, ROLES: "api", INTENT_SIGNER_PRIVATE_KEY: INTENT_SIGNER_KEY, API_PORT: port });
    expect(busy.code).to.equal(2);
    expect(busy.stderr).to.match(new RegExp(`^error: API_PORT: cannot listen on 127.0.0.1:${port}`, "m"));
  });
});
