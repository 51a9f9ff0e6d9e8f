import type { LogFault, ViewFaults } from "../simulatedChain/chainView";
import type { ServedView } from "../simulatedChain/viewServer";
import type { FaultChoice } from "./histories";
import type { TruthProviders } from "./historyRunner";

/**
 * Two views of a simulated chain as the indexer's RPC_URLS: one healthy but for honest failures (errors, HTTP 503),
 * and one that also lags, lets its log index lag, or answers logs with nothing, a subset or another branch's logs.
 * Lies add up until healed; a failure fails one request.
 */
export class SimulatedProviders implements TruthProviders {
  private faults: { healthy: ViewFaults; faulty: ViewFaults } = { healthy: {}, faulty: {} };

  constructor(
    private readonly healthy: ServedView,
    private readonly faulty: ServedView,
  ) {}

  urls(faultyFirst: boolean): string[] {
    return faultyFirst ? [this.faulty.url, this.healthy.url] : [this.healthy.url, this.faulty.url];
  }

  fault(choice: FaultChoice): void {
    if (choice.kind !== "failure" && choice.nudge) this.fault({ kind: "failure", on: "healthy", answer: "rpc-error" });
    switch (choice.kind) {
      case "lag":
        this.faulty.configure({ lag: choice.blocks });
        return;
      case "logLag":
        this.faulty.configure({ logLag: choice.blocks });
        return;
      case "logs": {
        const fault: LogFault = { kind: choice.answer, ...(choice.times > 0 ? { times: choice.times } : {}) };
        const faults = { ...this.faults.faulty };
        if (choice.by !== "hash") faults.logsByRange = fault;
        if (choice.by !== "range") faults.logsByHash = fault;
        this.set("faulty", faults);
        return;
      }
      case "failure":
        // One failure at a time, for the next request only: each sends the indexer to the other provider, and its
        // backoff doubles with every failure in a row (time, not truth).
        this.set(choice.on, { ...this.faults[choice.on], failures: [{ answer: choice.answer, times: 1 }] });
        return;
    }
  }

  /** Faults the providers injected so far, by kind (the lagging log index's omissions as `logLagged`). */
  get injected(): Record<string, number> {
    const { faults, logLagged } = this.faulty.stats;
    return {
      ...faults,
      rpcErrors: faults.rpcErrors + this.healthy.stats.faults.rpcErrors,
      http503: faults.http503 + this.healthy.stats.faults.http503,
      logLagged,
    };
  }

  heal(): void {
    this.faulty.configure({ lag: 0, logLag: 0 });
    this.set("healthy", {});
    this.set("faulty", {});
  }

  private set(which: "healthy" | "faulty", faults: ViewFaults): void {
    this.faults[which] = faults;
    (which === "healthy" ? this.healthy : this.faulty).setFaults(faults);
  }
}
