import path from "node:path";
import { z } from "zod";
import { confirmationPolicy, type ConfirmationPolicy } from "./chain/confirmations";

const integer = (name: string, fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return fallback;
      const number = Number(value);
      if (!/^\d+$/.test(value.trim()) || number < min || number > max) {
        ctx.addIssue({ code: "custom", message: `${name} must be a whole number ${min}..${max}, got "${value}"` });
        return z.NEVER;
      }
      return number;
    });

const environment = z.object({
  RPC_URLS: z
    .string({ error: "RPC_URLS is not set: one or more JSON-RPC URLs, comma-separated (the first is preferred)" })
    .transform((value) => value.split(",").map((url) => url.trim()).filter(Boolean))
    .refine((urls) => urls.length > 0 && urls.every((url) => /^https?:\/\//.test(url)), {
      message: "RPC_URLS must be http(s) URLs, comma-separated",
    }),
  WS_URL: z
    .string()
    .optional()
    .refine((url) => !url || /^wss?:\/\//.test(url), { message: "WS_URL must be a ws:// or wss:// URL" }),
  DATABASE_URL: z
    .string()
    .optional()
    .refine((url) => !url || /^postgres(ql)?:\/\//.test(url), { message: "DATABASE_URL must start with postgres:// or postgresql://" }),
  DATA_DIR: z.string().optional(),
  CONFIRMATIONS: integer("CONFIRMATIONS", 12, 1, 1000),
  FINALITY: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z.enum(["depth", "finalized", "either", "both"], { error: "FINALITY must be depth, finalized, either or both" }).default("depth"),
  ),
  POLL_INTERVAL_MS: integer("POLL_INTERVAL_MS", 250, 1, 60_000),
  STATUS_PORT: integer("STATUS_PORT", 9464, 0, 65_535),
  HEALTH_MAX_LAG_BLOCKS: integer("HEALTH_MAX_LAG_BLOCKS", 30, 1, 1_000_000),
  LOG_LEVEL: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
        error: "LOG_LEVEL must be fatal, error, warn, info, debug, trace or silent",
      })
      .default("info"),
  ),
  OPENPAY_DEPLOYMENTS_DIR: z.string().optional(),
  OPERATOR_PRIVATE_KEY: z
    .string()
    .optional()
    .refine((key) => !key || /^0x[0-9a-fA-F]{64}$/.test(key.trim()), { message: "OPERATOR_PRIVATE_KEY must be 0x followed by 64 hex digits" }),
  KEEPER_INTERVAL_MS: integer("KEEPER_INTERVAL_MS", 1_000, 10, 600_000),
});

export interface IndexerConfig {
  rpcUrls: string[];
  /** A WebSocket endpoint announcing new heads, so that the indexer steps at once rather than at its next poll. */
  wsUrl?: string;
  databaseUrl?: string;
  dataDir: string;
  confirmations: ConfirmationPolicy;
  pollIntervalMs: number;
  statusPort: number;
  healthMaxLagBlocks: number;
  logLevel: string;
  deploymentsDir?: string;
  /** The keeper's key (OPERATOR_ROLE); without it the process only indexes. */
  operatorKey?: `0x${string}`;
  keeperIntervalMs: number;
}

/** The indexer's settings from the environment; the error lists every variable that is wrong, by name. */
export function readConfig(env: NodeJS.ProcessEnv): IndexerConfig {
  const result = environment.safeParse(env);
  if (!result.success) throw new Error(result.error.issues.map((issue) => issue.message).join("; "));
  const values = result.data;
  return {
    rpcUrls: values.RPC_URLS,
    wsUrl: values.WS_URL || undefined,
    databaseUrl: values.DATABASE_URL || undefined,
    dataDir: values.DATA_DIR || path.resolve("data/indexer"),
    confirmations: confirmationPolicy(values.CONFIRMATIONS, values.FINALITY),
    pollIntervalMs: values.POLL_INTERVAL_MS,
    statusPort: values.STATUS_PORT,
    healthMaxLagBlocks: values.HEALTH_MAX_LAG_BLOCKS,
    logLevel: values.LOG_LEVEL,
    deploymentsDir: values.OPENPAY_DEPLOYMENTS_DIR || undefined,
    operatorKey: (values.OPERATOR_PRIVATE_KEY?.trim() || undefined) as `0x${string}` | undefined,
    keeperIntervalMs: values.KEEPER_INTERVAL_MS,
  };
}
