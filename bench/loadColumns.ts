/**
 * The columns every autocannon run of the HTTP benchmarks shows (bench/api.ts, bench/checkout.ts): connections,
 * requests per second, the client's latency percentiles, failures, the CPU each party used and the CPU the API and
 * PostgreSQL spent per response.
 */
import type { LoadFigures } from "./apiLoad";
import type { CpuShare } from "./cpuAccounting";
import { fixed, type Column } from "./markdownTable";

export interface MeasuredRun extends LoadFigures {
  cpu: CpuShare;
}

/** `autocannonInApi` tells the runs whose load generator ran inside the API's process (its CPU is the API's). */
export function loadColumns<Row extends MeasuredRun>({ autocannonInApi = () => false }: { autocannonInApi?: (row: Row) => boolean } = {}): Column<Row>[] {
  return [
    { header: "connections", align: "right", cell: (row) => String(row.connections) },
    { header: "requests/s", align: "right", cell: (row) => String(Math.round(row.requestsPerSecond)) },
    { header: "p50 (ms)", align: "right", cell: (row) => fixed(row.p50) },
    { header: "p90 (ms)", align: "right", cell: (row) => fixed(row.p90) },
    { header: "p99 (ms)", align: "right", cell: (row) => fixed(row.p99) },
    { header: "max (ms)", align: "right", cell: (row) => fixed(row.max) },
    { header: "errors", align: "right", cell: (row) => String(row.errors) },
    { header: "non-2xx", align: "right", cell: (row) => String(row.non2xx) },
    {
      header: "CPU cores: API / autocannon / PostgreSQL / others",
      cell: (row) =>
        `${fixed(row.cpu.api, 2)} / ${autocannonInApi(row) ? "(in API)" : fixed(row.cpu.load, 2)} / ${fixed(row.cpu.postgres, 2)} / ${fixed(row.cpu.others, 2)}`,
    },
    {
      header: "CPU ms per request: API / PostgreSQL",
      cell: (row) => `${fixed(cpuMsPerRequest(row, "api"), 2)} / ${fixed(cpuMsPerRequest(row, "postgres"), 2)}`,
    },
  ];
}

/** CPU milliseconds a party spent per response during a run. */
export const cpuMsPerRequest = (row: MeasuredRun, party: "api" | "postgres"): number => (row.cpu[party] / row.requestsPerSecond) * 1000;
