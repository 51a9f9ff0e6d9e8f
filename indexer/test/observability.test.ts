import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import pg from "pg";
import { simulate } from "../../scripts/operator/simulate";
import { createRpcClient } from "../src/chain/rpcClient";
import { paymentLogs } from "../src/indexing/escrowLogs";
import { indexerMetrics } from "../src/indexing/indexerMetrics";
import { startStatusServer } from "../src/observability/statusServer";
import type { BatchResult } from "../src/indexing/commitBatch";
import { openStore } from "../src/store/database";
import {
  killIndexerProcesses,
  metricValue,
  RpcGate,
  runIndexerToExit,
  startIndexerProcess,
  startRpcLink,
  type IndexerProcess,
  type RpcLink,
} from "./support/indexerProcess";
import { CHAIN_ID, mine, register, signedPayment, startLocalChain, type LocalChain } from "./support/localChain";
import { freshPostgresDatabase, TEST_POSTGRES_URL } from "./support/stores";

const quiet = () => undefined;

const get = async (port: number, pathname: string) => {
  const response = await fetch(`http://127.0.0.1:${port}${pathname}`);
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
};

describe("indexer observability: /metrics and /health", function () {
  this.timeout(180_000);

  let chain: LocalChain;
  const databases: Array<{ url: string; drop: () => Promise<void> }> = [];
  const links: RpcLink[] = [];
  const folders: string[] = [];

  before(async function () {
    chain = await startLocalChain();
  });

  after(async function () {
    await killIndexerProcesses();
    for (const link of links) await link.close();
    for (const database of databases) await database.drop();
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
    await chain?.close();
  });

  const head = () => hre.ethers.provider.getBlockNumber();

  /** A fresh database, a link to the chain and an indexer process on them. */
  async function indexerOnLink(name: string, env: Record<string, string>) {
    const database = await freshPostgresDatabase();
    databases.push(database);
    const link = await startRpcLink(chain.url);
    links.push(link);
    const start = () => startIndexerProcess(name, { rpcUrl: link.url, deploymentsDir: chain.deploymentsDir, databaseUrl: database.url, env });
    return { database, link, start };
  }

  /** The payment events the escrow logged since its deployment, as the indexer decodes them. */
  async function paymentEventsOnChain(): Promise<number> {
    const logs = await createRpcClient([chain.url]).getLogs({ address: chain.record.escrow, fromBlock: BigInt(chain.record.blockNumber), toBlock: "latest" });
    return paymentLogs(logs).length;
  }

  const metricsAt = (process: IndexerProcess, block: number) =>
    process.until(`/metrics at block ${block}`, async () => {
      const text = await process.metrics();
      return metricValue(text, "openpay_indexer_indexed_block") === block ? text : undefined;
    });

  it("/metrics: Prometheus text with the head, the indexed block, the lag, events, events per second and RPC errors the chain implies", async function () {
    const { database, link, start } = await indexerOnLink("indexer", { CONFIRMATIONS: "1", POLL_INTERVAL_MS: "50" });
    const store = await openStore({ url: database.url });
    const payments = [await signedPayment(chain, "25"), await signedPayment(chain, "40"), await signedPayment(chain, "300"), await signedPayment(chain, "10")];
    for (const payment of payments) await register(store.db, chain, payment);
    await store.close();
    await simulate(hre, { intent: payments[0].file, scenario: "full", token: "USDT" }, quiet);
    await simulate(hre, { intent: payments[1].file, scenario: "partial", token: "BNB" }, quiet);
    // The last block holds a payment event: the last batch applies it.
    await simulate(hre, { intent: payments[2].file, scenario: "over", token: "USDC" }, quiet);

    // The node fails the first three head requests: three RPC errors, retried.
    let refused = 0;
    link.setRule((call) => {
      if (call.method !== "eth_blockNumber" || refused >= 3) return undefined;
      refused += 1;
      return { error: { code: -32000, message: "injected: node unavailable" } };
    });
    const indexer = start();
    const top = await head();
    const text = await metricsAt(indexer, top);
    const events = await paymentEventsOnChain();
    expect(events).to.be.greaterThan(2);

    const response = await get(await indexer.port(), "/metrics");
    expect(response.status).to.equal(200);
    expect(response.type).to.match(/^text\/plain; version=0\.0\.4/);
    for (const name of ["head_block", "indexed_block", "lag_blocks", "events_per_second"]) {
      expect(text).to.include(`# TYPE openpay_indexer_${name} gauge`);
    }
    for (const name of ["events_total", "rpc_errors_total", "status_changes_total"]) expect(text).to.include(`# TYPE openpay_indexer_${name} counter`);
    expect(text).to.include(`openpay_indexer_head_block{chain_id="${CHAIN_ID}"} ${top}`);
    expect(metricValue(text, "openpay_indexer_head_block")).to.equal(top);
    expect(metricValue(text, "openpay_indexer_indexed_block")).to.equal(top);
    expect(metricValue(text, "openpay_indexer_lag_blocks")).to.equal(0);
    expect(metricValue(text, "openpay_indexer_events_total")).to.equal(events);
    expect(metricValue(text, "openpay_indexer_events_per_second")).to.be.greaterThan(0);
    expect(metricValue(text, "openpay_indexer_rpc_errors_total")).to.equal(3);
    expect(indexer.logs.filter((line) => line.msg === "RPC request failed; retrying")).to.have.length(3);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>("select count(*)::int as n from status_changes");
      expect(rows[0].n).to.be.greaterThan(0);
      expect(metricValue(text, "openpay_indexer_status_changes_total")).to.equal(rows[0].n);
    } finally {
      await client.end();
    }

    // An empty block: the last batch applied nothing.
    await mine(1);
    const empty = await metricsAt(indexer, top + 1);
    expect(metricValue(empty, "openpay_indexer_events_per_second")).to.equal(0);
    expect(metricValue(empty, "openpay_indexer_events_total")).to.equal(events);
    expect(metricValue(empty, "openpay_indexer_head_block")).to.equal(top + 1);

    // One more deposit: counted once.
    await simulate(hre, { intent: payments[3].file, scenario: "partial", token: "BNB" }, quiet);
    const after = await metricsAt(indexer, await head());
    expect(await paymentEventsOnChain()).to.equal(events + 1);
    expect(metricValue(after, "openpay_indexer_events_total")).to.equal(events + 1);
    expect(metricValue(after, "openpay_indexer_events_per_second")).to.be.greaterThan(0);
    expect(metricValue(after, "openpay_indexer_rpc_errors_total")).to.equal(3);
    expect(await indexer.stop()).to.deep.equal({ code: 0, signal: null });
  });

  it("/health: 200 with lag 0 when caught up, 503 naming the lag beyond HEALTH_MAX_LAG_BLOCKS, 200 again once caught up; other paths 404", async function () {
    const { link, start } = await indexerOnLink("indexer", { CONFIRMATIONS: "12", POLL_INTERVAL_MS: "50", HEALTH_MAX_LAG_BLOCKS: "5" });
    await mine(2);
    const indexer = start();
    const top = await head();
    await metricsAt(indexer, top);
    const healthy = await indexer.health();
    expect(healthy.status).to.equal(200);
    expect(healthy.body).to.include({ status: "ok", role: "active", head: top, indexed: top, lag: 0, maxLagBlocks: 5 });

    // The node stalls: the indexer learns of 8 new blocks but cannot read them.
    const gate = new RpcGate(["eth_blockNumber", "eth_getBlockByNumber", "eth_getLogs"]);
    link.setRule(gate.rule);
    await indexer.until("a request held", () => (gate.waiting > 0 ? true : undefined));
    await mine(8);
    // The held call may be a block read of a step that began before the blocks were mined: it goes through, so the
    // next step asks for the head again; the reads that step makes stay held.
    gate.open(["eth_blockNumber"]);
    gate.release();
    const lagging = await indexer.until("/health 503", async () => {
      const health = await indexer.health();
      return health.status === 503 ? health : undefined;
    });
    expect(lagging.body).to.include({
      status: "lagging",
      role: "active",
      head: top + 8,
      indexed: top,
      lag: 8,
      maxLagBlocks: 5,
      reason: "8 blocks behind the head (limit 5)",
    });
    expect(metricValue(await indexer.metrics(), "openpay_indexer_lag_blocks")).to.equal(8);

    gate.open();
    await metricsAt(indexer, top + 8);
    const recovered = await indexer.health();
    expect(recovered.status).to.equal(200);
    expect(recovered.body).to.include({ status: "ok", head: top + 8, indexed: top + 8, lag: 0 });

    const missing = await get(await indexer.port(), "/status");
    expect(missing.status).to.equal(404);
    expect(missing.type).to.equal("application/json");
    expect(JSON.parse(missing.text)).to.deep.equal({ error: "no such path: /status; try /health or /metrics" });
    expect(await indexer.stop()).to.deep.equal({ code: 0, signal: null });
  });

  it("the status server over a metrics source whose lag is set by hand: the limit is inclusive, a standby is healthy, no head seen is not", async function () {
    const metrics = indexerMetrics(CHAIN_ID);
    let active = true;
    const { server, port } = await startStatusServer({ registry: metrics.registry, position: metrics.position, maxLagBlocks: 10, active: () => active }, 0);
    try {
      const health = async () => {
        const response = await get(port, "/health");
        return { status: response.status, body: JSON.parse(response.text) };
      };
      expect(await health()).to.deep.include({ status: 503 });
      expect((await health()).body).to.include({ status: "lagging", role: "active", reason: "no chain head seen yet" });

      const result: BatchResult = {
        changes: [
          { paymentId: "0x01", sequence: 1, from: "initiated", to: "pending", reason: "deposit" },
          { paymentId: "0x02", sequence: 1, from: "initiated", to: "confirming", reason: "full_value_received" },
        ],
        refusals: ["payment 0x03: deposit refused"],
        superseded: [{ paymentId: "0x04", kind: "refund_requested", reason: "a refund of 60 exceeds the 20 still refundable" }],
        disagreements: [],
        mismatches: [],
        unverified: 0,
        lateLogs: 0,
        unknown: 0,
      };
      metrics.observer.head!(100);
      metrics.observer.committed!({ from: 1, to: 90, logs: 4, result, ms: 8, head: 100 });
      expect((await health()).status).to.equal(200);
      expect((await health()).body).to.include({ status: "ok", head: 100, indexed: 90, lag: 10, maxLagBlocks: 10 });

      metrics.observer.head!(101);
      const lagging = await health();
      expect(lagging.status).to.equal(503);
      expect(lagging.body).to.include({ status: "lagging", lag: 11, reason: "11 blocks behind the head (limit 10)" });

      active = false;
      expect(await health()).to.deep.include({ status: 200 });
      expect((await health()).body).to.include({ status: "ok", role: "standby" });

      metrics.observer.rpcError!(new Error("one"));
      metrics.observer.rpcError!(new Error("two"));
      const text = (await get(port, "/metrics")).text;
      expect(metricValue(text, "openpay_indexer_head_block")).to.equal(101);
      expect(metricValue(text, "openpay_indexer_indexed_block")).to.equal(90);
      expect(metricValue(text, "openpay_indexer_lag_blocks")).to.equal(11);
      expect(metricValue(text, "openpay_indexer_events_total")).to.equal(4);
      expect(metricValue(text, "openpay_indexer_events_per_second")).to.equal(500);
      expect(metricValue(text, "openpay_indexer_status_changes_total")).to.equal(2);
      expect(metricValue(text, "openpay_indexer_refused_events_total")).to.equal(1);
      expect(metricValue(text, "openpay_indexer_rpc_errors_total")).to.equal(2);
      expect(metricValue(text, "openpay_indexer_commit_seconds_count")).to.equal(1);

      // What protects the money words: every kind named, from zero.
      metrics.observer.providerFault!("missing_logs");
      metrics.observer.providerFault!("missing_logs");
      metrics.observer.failover!();
      metrics.observer.reorganised!(3);
      metrics.observer.escrowDisagreement!("paid");
      metrics.observer.escrowMismatch!();
      metrics.observer.bloomFalsePositives!(5);
      metrics.observer.reread!("recent_blocks", 2);
      const guarded = (await get(port, "/metrics")).text;
      expect(guarded).to.include('openpay_indexer_provider_faults_total{kind="missing_logs",chain_id="31337"} 2');
      expect(guarded).to.include('openpay_indexer_provider_faults_total{kind="foreign_logs",chain_id="31337"} 0');
      expect(guarded).to.include('openpay_indexer_escrow_disagreements_total{to="paid",chain_id="31337"} 1');
      expect(guarded).to.include('openpay_indexer_escrow_disagreements_total{to="expired",chain_id="31337"} 0');
      expect(guarded).to.include('openpay_indexer_late_logs_total{what="recent_blocks",chain_id="31337"} 2');
      expect(metricValue(guarded, "openpay_indexer_rpc_failovers_total")).to.equal(1);
      expect(metricValue(guarded, "openpay_indexer_reorganisations_total")).to.equal(1);
      expect(metricValue(guarded, "openpay_indexer_last_reorganisation_depth")).to.equal(3);
      expect(metricValue(guarded, "openpay_indexer_superseded_events_total")).to.equal(1);
      expect(metricValue(guarded, "openpay_indexer_escrow_mismatches_total")).to.equal(1);
      expect(metricValue(guarded, "openpay_indexer_bloom_false_positives_total")).to.equal(5);

      const missing = await get(port, "/metrics/extra");
      expect(missing.status).to.equal(404);
      expect(JSON.parse(missing.text)).to.deep.equal({ error: "no such path: /metrics/extra; try /health or /metrics" });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe("configuration errors: exit code 2 and one line naming the problem", function () {
    /** Runs the process with a valid configuration changed by `changes` (undefined removes a variable). */
    async function refused(changes: Record<string, string | undefined>) {
      const dataDir = mkdtempSync(path.join(tmpdir(), "open-pay-data-"));
      folders.push(dataDir);
      const variables: Record<string, string | undefined> = {
        RPC_URLS: chain.url,
        OPENPAY_DEPLOYMENTS_DIR: chain.deploymentsDir,
        DATA_DIR: dataDir,
        STATUS_PORT: "0",
        ...changes,
      };
      const run = await runIndexerToExit(variables);
      const lines = run.stderr.trim().split("\n");
      expect({ code: run.code, signal: run.signal }, run.stderr).to.deep.equal({ code: 2, signal: null });
      expect(lines, run.stderr).to.have.length(1);
      expect(run.stdout).to.equal("");
      return lines[0];
    }

    it("RPC_URLS missing", async function () {
      expect(await refused({ RPC_URLS: undefined })).to.equal(
        "error: RPC_URLS is not set: one or more JSON-RPC URLs, comma-separated (the first is preferred)",
      );
    });

    it("CONFIRMATIONS not a whole number in range", async function () {
      expect(await refused({ CONFIRMATIONS: "twelve" })).to.equal('error: CONFIRMATIONS must be a whole number 1..1000, got "twelve"');
      expect(await refused({ CONFIRMATIONS: "0" })).to.equal('error: CONFIRMATIONS must be a whole number 1..1000, got "0"');
    });

    it("FINALITY not one of depth, finalized, either, both", async function () {
      expect(await refused({ FINALITY: "safe" })).to.equal("error: FINALITY must be depth, finalized, either or both");
    });

    it("DATABASE_URL not a PostgreSQL URL", async function () {
      expect(await refused({ DATABASE_URL: "mysql://root@127.0.0.1/openpay" })).to.equal("error: DATABASE_URL must start with postgres:// or postgresql://");
    });

    it("a PostgreSQL database that does not exist: one line naming DATABASE_URL, exit 2", async function () {
      const url = new URL(TEST_POSTGRES_URL);
      url.pathname = "/openpay_no_such_database";
      const run = await runIndexerToExit({
        RPC_URLS: chain.url,
        OPENPAY_DEPLOYMENTS_DIR: chain.deploymentsDir,
        STATUS_PORT: "0",
        DATABASE_URL: url.toString(),
      });
      expect({ code: run.code, signal: run.signal }, run.stderr).to.deep.equal({ code: 2, signal: null });
      expect(run.stderr.trim().split("\n"), run.stderr).to.have.length(1);
      expect(run.stderr).to.match(/^error: DATABASE_URL: cannot use the database: database "openpay_no_such_database" does not exist/);
    });

    it("a deployment record whose escrow ABI differs from the indexer's", async function () {
      const folder = mkdtempSync(path.join(tmpdir(), "open-pay-abi-"));
      folders.push(folder);
      const record = JSON.parse(readFileSync(path.join(chain.deploymentsDir, `${CHAIN_ID}.json`), "utf8"));
      const built = record.abiHash as string;
      const other = `0x${"ab".repeat(32)}`;
      writeFileSync(path.join(folder, `${CHAIN_ID}.json`), JSON.stringify({ ...record, abiHash: other }));
      const line = await refused({ OPENPAY_DEPLOYMENTS_DIR: folder });
      expect(line).to.equal(
        `error: deployments/${CHAIN_ID}.json records an escrow ABI (${other}) other than the one this indexer was built with ` +
          `(${built}): deploy the current escrow or run the matching indexer`,
      );
    });

    it("no deployment record for the chain", async function () {
      const folder = mkdtempSync(path.join(tmpdir(), "open-pay-empty-"));
      folders.push(folder);
      const line = await refused({ OPENPAY_DEPLOYMENTS_DIR: folder });
      expect(line).to.equal(
        `error: ${path.join(folder, `${CHAIN_ID}.json`)} not found: no Open Pay deployment recorded for chain ${CHAIN_ID} (deploy with \`npm run deploy\`)`,
      );
    });
  });
});
