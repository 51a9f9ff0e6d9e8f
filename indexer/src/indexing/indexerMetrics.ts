import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { IndexerObserver } from "./indexer";

/** The indexer's Prometheus metrics, and the observer that feeds them. */
export function indexerMetrics(chainId: number) {
  const registry = new Registry();
  registry.setDefaultLabels({ chain_id: String(chainId) });
  const headBlock = new Gauge({ name: "openpay_indexer_head_block", help: "Latest block of the chain", registers: [registry] });
  const indexedBlock = new Gauge({ name: "openpay_indexer_indexed_block", help: "Last block committed", registers: [registry] });
  const lag = new Gauge({ name: "openpay_indexer_lag_blocks", help: "Blocks between the chain's head and the last committed", registers: [registry] });
  const events = new Counter({ name: "openpay_indexer_events_total", help: "Payment events applied", registers: [registry] });
  const eventsPerSecond = new Gauge({
    name: "openpay_indexer_events_per_second",
    help: "Payment events per second of the last batch's commit",
    registers: [registry],
  });
  const changes = new Counter({ name: "openpay_indexer_status_changes_total", help: "Payment status changes", registers: [registry] });
  const refusals = new Counter({
    name: "openpay_indexer_refused_events_total",
    help: "Chain events the status machine refused (the chain and the database disagree)",
    registers: [registry],
  });
  const rpcErrors = new Counter({ name: "openpay_indexer_rpc_errors_total", help: "Failed RPC requests (retried)", registers: [registry] });
  const providerFaults = new Counter({
    name: "openpay_indexer_provider_faults_total",
    help: "Provider answers the chain contradicted, never applied (missing_logs, foreign_logs, broken_chain, unknown_block)",
    labelNames: ["kind"],
    registers: [registry],
  });
  const failovers = new Counter({ name: "openpay_indexer_rpc_failovers_total", help: "Moves to another RPC_URLS provider", registers: [registry] });
  const reorganisations = new Counter({ name: "openpay_indexer_reorganisations_total", help: "Reorganisations rolled back", registers: [registry] });
  const reorganisationDepth = new Gauge({
    name: "openpay_indexer_last_reorganisation_depth",
    help: "Blocks rolled back by the last reorganisation",
    registers: [registry],
  });
  const disagreements = new Counter({
    name: "openpay_indexer_escrow_disagreements_total",
    help: "Settlements (paid, expired, failed) the escrow's own record contradicted, once per payment and reason: not announced, the payment read again (alert on it)",
    labelNames: ["to"],
    registers: [registry],
  });
  const mismatches = new Counter({
    name: "openpay_indexer_escrow_mismatches_total",
    help: "Payments whose escrow record was not what their logs said (a log missed or invented), once per payment and reason: read again (alert on a rise)",
    registers: [registry],
  });
  const superseded = new Counter({
    name: "openpay_indexer_superseded_events_total",
    help: "Off-chain events (a refund request…) a rebuild after a reorganisation found no longer apply",
    registers: [registry],
  });
  const bloomFalsePositives = new Counter({
    name: "openpay_indexer_bloom_false_positives_total",
    help: "Blocks whose bloom allowed logs that the block's receipts showed were not there",
    registers: [registry],
  });
  const lateLogs = new Counter({
    name: "openpay_indexer_late_logs_total",
    help: "Logs found by a re-read (recent blocks, or a disagreeing payment's history) that the first read had missed",
    labelNames: ["what"],
    registers: [registry],
  });
  for (const kind of ["missing_logs", "foreign_logs", "broken_chain", "unknown_block"]) providerFaults.inc({ kind }, 0);
  for (const to of ["paid", "expired", "failed"]) disagreements.inc({ to }, 0);
  for (const what of ["recent_blocks", "payment_history"]) lateLogs.inc({ what }, 0);
  const commitSeconds = new Histogram({
    name: "openpay_indexer_commit_seconds",
    help: "Time to commit one batch",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  let head = 0;
  let indexed = 0;
  let lastCommitAt = Date.now();
  const observer: IndexerObserver = {
    head(number) {
      head = number;
      headBlock.set(number);
      lag.set(Math.max(0, head - indexed));
    },
    committed({ to, logs, result, ms }) {
      indexed = to;
      lastCommitAt = Date.now();
      indexedBlock.set(to);
      lag.set(Math.max(0, head - indexed));
      events.inc(logs);
      if (ms > 0) eventsPerSecond.set((logs * 1000) / ms);
      changes.inc(result.changes.length);
      refusals.inc(result.refusals.length);
      superseded.inc(result.superseded.length);
      commitSeconds.observe(ms / 1000);
    },
    indexed(number) {
      indexed = number;
      indexedBlock.set(number);
      lag.set(Math.max(0, head - indexed));
    },
    rpcError() {
      rpcErrors.inc();
    },
    providerFault(kind) {
      providerFaults.inc({ kind });
    },
    failover() {
      failovers.inc();
    },
    reorganised(depth) {
      reorganisations.inc();
      reorganisationDepth.set(depth);
    },
    bloomFalsePositives(count) {
      bloomFalsePositives.inc(count);
    },
    escrowMismatch() {
      mismatches.inc();
    },
    escrowDisagreement(to) {
      disagreements.inc({ to });
    },
    reread(what, found) {
      lateLogs.inc({ what }, found);
    },
  };
  return {
    registry,
    observer,
    /** Where the indexer stands, for /health. */
    position: () => ({ head, indexed, lag: Math.max(0, head - indexed), lastCommitAt }),
  };
}
