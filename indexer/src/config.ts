import path from "node:path";
import { getAddress, isAddress, type Address } from "viem";
import { z } from "zod";
import { confirmationPolicy, type ConfirmationPolicy } from "./payments/confirmations";
import { parseAllowList, type AllowList } from "./ledger/webhookAddressPolicy";

/** A whole-number variable: blank or unset is `fallback`; the error names the variable and its range. */
const wholeNumber = (name: string, fallback: number, min: number, max: number) =>
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

const databaseUrlVariable = z
  .string()
  .optional()
  .refine((url) => !url || /^postgres(ql)?:\/\//.test(url), { message: "DATABASE_URL must start with postgres:// or postgresql://" });

const logLevelVariable = z.preprocess(
  (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
  z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      error: "LOG_LEVEL must be fatal, error, warn, info, debug, trace or silent",
    })
    .default("info"),
);

/** WEBHOOK_ALLOWED_CIDRS, parsed: the error names the entry that is not a range. */
const webhookAllowListVariable = z
  .string()
  .optional()
  .transform((value, ctx) => {
    try {
      return parseAllowList(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });

/** API_TRUSTED_PROXIES: the addresses and CIDRs whose X-Forwarded-For the API believes; the error names a bad entry. */
const trustedProxiesVariable = z
  .string()
  .optional()
  .transform((value, ctx) => {
    try {
      parseAllowList(value, "API_TRUSTED_PROXIES");
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
    return (value ?? "")
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean);
  });

const environment = z.object({
  RPC_URLS: z
    .string({ error: "RPC_URLS is not set: one or more JSON-RPC URLs, comma-separated (the first is preferred)" })
    .transform((value) =>
      value
        .split(",")
        .map((url) => url.trim())
        .filter(Boolean),
    )
    .refine((urls) => urls.length > 0 && urls.every((url) => /^https?:\/\//.test(url)), {
      message: "RPC_URLS must be http(s) URLs, comma-separated",
    }),
  WS_URL: z
    .string()
    .optional()
    .refine((url) => !url || /^wss?:\/\//.test(url), { message: "WS_URL must be a ws:// or wss:// URL" }),
  DATABASE_URL: databaseUrlVariable,
  DATA_DIR: z.string().optional(),
  CONFIRMATIONS: wholeNumber("CONFIRMATIONS", 12, 1, 1000),
  FINALITY: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z.enum(["depth", "finalized", "either", "both"], { error: "FINALITY must be depth, finalized, either or both" }).default("depth"),
  ),
  POLL_INTERVAL_MS: wholeNumber("POLL_INTERVAL_MS", 250, 1, 60_000),
  STATUS_PORT: wholeNumber("STATUS_PORT", 9464, 0, 65_535),
  HEALTH_MAX_LAG_BLOCKS: wholeNumber("HEALTH_MAX_LAG_BLOCKS", 30, 1, 1_000_000),
  LOG_LEVEL: logLevelVariable,
  OPENPAY_DEPLOYMENTS_DIR: z.string().optional(),
  OPERATOR_PRIVATE_KEY: z
    .string()
    .optional()
    .refine((key) => !key || /^0x[0-9a-fA-F]{64}$/.test(key.trim()), { message: "OPERATOR_PRIVATE_KEY must be 0x followed by 64 hex digits" }),
  KEEPER_INTERVAL_MS: wholeNumber("KEEPER_INTERVAL_MS", 1_000, 10, 600_000),
  KEEPER_STUCK_AFTER_MS: wholeNumber("KEEPER_STUCK_AFTER_MS", 30_000, 1_000, 3_600_000),
  ROLES: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const roles = (value?.trim() ? value : ROLES.join(","))
        .split(",")
        .map((role) => role.trim())
        .filter(Boolean);
      const unknown = roles.filter((role) => !(ROLES as readonly string[]).includes(role));
      if (unknown.length > 0 || roles.length === 0) {
        ctx.addIssue({ code: "custom", message: `ROLES must be one or more of ${ROLES.join(", ")}, comma-separated; got "${value}"` });
        return z.NEVER;
      }
      return new Set(roles as Role[]);
    }),
  API_HOST: z.string().optional(),
  API_PORT: wholeNumber("API_PORT", 8080, 0, 65_535),
  PUBLIC_URL: z
    .string()
    .optional()
    .refine((url) => !url || /^https?:\/\/[^/]/.test(url), { message: "PUBLIC_URL must be the http(s) URL customers and merchants reach the API at" }),
  INTENT_SIGNER_PRIVATE_KEY: z
    .string()
    .optional()
    .refine((key) => !key || /^0x[0-9a-fA-F]{64}$/.test(key.trim()), { message: "INTENT_SIGNER_PRIVATE_KEY must be 0x followed by 64 hex digits" }),
  API_RATE_LIMIT: wholeNumber("API_RATE_LIMIT", 100, 1, 1_000_000),
  API_TRUSTED_PROXIES: trustedProxiesVariable,
  WEBHOOK_ALLOWED_CIDRS: webhookAllowListVariable,
  WEBHOOK_CONCURRENCY: wholeNumber("WEBHOOK_CONCURRENCY", 64, 1, 10_000),
  DASHBOARD_DEMO_SIGN_IN: z
    .string()
    .optional()
    .refine((address) => !address?.trim() || isAddress(address.trim(), { strict: false }), {
      message: "DASHBOARD_DEMO_SIGN_IN must be the address of an account the local chain's node holds (0x and 40 hex digits)",
    }),
});

/** The variables readConfig reads, in the order they are declared above (`npm start -- --help` lists them). */
export const CONFIG_VARIABLES = Object.keys(environment.shape) as ReadonlyArray<keyof typeof environment.shape>;

/** What a process does: follow the chain (and keep), serve the merchant API, deliver webhooks. */
export const ROLES = ["indexer", "api", "webhooks"] as const;
export type Role = (typeof ROLES)[number];

/** The whole gateway process's settings: every role's, read once from the environment. */
export interface GatewayConfig {
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
  /**
   * A keeper transaction not mined after this long is sent again at a higher gas price; one the node no longer
   * knows is given this long before it is broadcast again or its nonce taken by a no-op.
   */
  keeperStuckAfterMs: number;
  roles: ReadonlySet<Role>;
  apiHost: string;
  apiPort: number;
  /** Where customers and merchants reach the API (checkout links); default http://<API_HOST>:<API_PORT>. */
  publicUrl: string;
  /** Signs payment intents: a signer every merchant of this gateway authorised on the escrow. */
  intentSignerKey?: `0x${string}`;
  /** Requests per second per API key (per process). */
  apiRateLimit: number;
  /** Proxies whose X-Forwarded-For names the client the API's limits count (API_TRUSTED_PROXIES; default none). */
  apiTrustedProxies: string[];
  /** Ranges webhook URLs may resolve to although private (WEBHOOK_ALLOWED_CIDRS; local demos: 127.0.0.1/32). */
  webhookAllowList: AllowList;
  /** Webhook deliveries in flight per process (WEBHOOK_CONCURRENCY). */
  webhookConcurrency: number;
  /**
   * The account the dashboard's one-click sign-in signs in as, signing with the node's unlocked key: set by npm start
   * on the local chain it starts, refused on any other chain (checkChainSettings).
   */
  dashboardDemoSignIn?: Address;
}

/** Hardhat's chain: its node holds unlocked accounts whose keys anyone can derive from a published mnemonic. */
export const LOCAL_CHAIN_ID = 31337;

/** The settings that depend on the chain, checked once it has said its id; the error names the variable. */
export function checkChainSettings(config: GatewayConfig, chainId: number): void {
  if (config.dashboardDemoSignIn && chainId !== LOCAL_CHAIN_ID) {
    throw new Error(
      `DASHBOARD_DEMO_SIGN_IN is set, but the chain is ${chainId}: the dashboard's one-click sign-in has the node sign with an ` +
        `unlocked account, which only the local Hardhat chain (${LOCAL_CHAIN_ID}) offers; unset it`,
    );
  }
}

/** The gateway's settings from the environment; the error lists every variable that is wrong, by name. */
export function readConfig(env: NodeJS.ProcessEnv): GatewayConfig {
  const result = environment.safeParse(env);
  if (!result.success) throw new Error(result.error.issues.map((issue) => issue.message).join("; "));
  const values = result.data;
  const intentSignerKey = (values.INTENT_SIGNER_PRIVATE_KEY?.trim() || undefined) as `0x${string}` | undefined;
  if (values.ROLES.has("api") && !intentSignerKey) {
    throw new Error("INTENT_SIGNER_PRIVATE_KEY is not set: the API signs payment intents with it (or leave api out of ROLES)");
  }
  const apiHost = values.API_HOST?.trim() || "127.0.0.1";
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
    keeperStuckAfterMs: values.KEEPER_STUCK_AFTER_MS,
    roles: values.ROLES,
    apiHost,
    apiPort: values.API_PORT,
    publicUrl: values.PUBLIC_URL?.trim() || `http://${apiHost}:${values.API_PORT}`,
    intentSignerKey,
    apiRateLimit: values.API_RATE_LIMIT,
    apiTrustedProxies: values.API_TRUSTED_PROXIES,
    webhookAllowList: values.WEBHOOK_ALLOWED_CIDRS,
    webhookConcurrency: values.WEBHOOK_CONCURRENCY,
    dashboardDemoSignIn: values.DASHBOARD_DEMO_SIGN_IN?.trim() ? getAddress(values.DASHBOARD_DEMO_SIGN_IN.trim()) : undefined,
  };
}
