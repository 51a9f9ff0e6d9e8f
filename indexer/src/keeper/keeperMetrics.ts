import { Counter, Gauge, type Registry } from "prom-client";
import { OPERATOR_REASONS, type OperatorCase } from "./actionPlan";

/** What the keeper reports each round. */
export interface KeeperObserver {
  /**
   * The cases the keeper leaves to the operator this round (`current`, all of them), and those of them it reports
   * for the first time in their state (`fresh`).
   */
  leftToOperator(current: readonly OperatorCase[], fresh: readonly OperatorCase[]): void;
}

/** The keeper's metrics in `registry`, and the observer that feeds them. */
export function keeperMetrics(registry: Registry): KeeperObserver {
  const reported = new Counter({
    name: "openpay_keeper_left_to_operator_total",
    help: "Cases the keeper left to the operator, by reason, counted once per payment and state",
    labelNames: ["reason"],
    registers: [registry],
  });
  const waiting = new Gauge({
    name: "openpay_keeper_left_to_operator",
    help: "Cases the keeper leaves to the operator as of its last round, by reason (alert on > 0)",
    labelNames: ["reason"],
    registers: [registry],
  });
  for (const reason of OPERATOR_REASONS) {
    reported.inc({ reason }, 0);
    waiting.set({ reason }, 0);
  }
  return {
    leftToOperator(current, fresh) {
      for (const reason of OPERATOR_REASONS) waiting.set({ reason }, current.filter((left) => left.reason === reason).length);
      for (const left of fresh) reported.inc({ reason: left.reason });
    },
  };
}
