import path from "node:path";
import { expect } from "chai";
import { checkChainSettings, readConfig } from "./config";

const URL = "https://bsc-dataseed.example";
const KEY = `0x${"ab".repeat(32)}`;

function failure(env: Record<string, string>): string {
  try {
    readConfig(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`readConfig accepted ${JSON.stringify(env)}`);
}

describe("readConfig", function () {
  it("needs only RPC_URLS, and defaults everything else", function () {
    const config = readConfig({ ROLES: "indexer", RPC_URLS: URL });
    expect(config).to.deep.include({
      rpcUrls: [URL],
      databaseUrl: undefined,
      dataDir: path.resolve("data/indexer"),
      confirmations: { depth: 12, mode: "depth" },
      pollIntervalMs: 250,
      statusPort: 9464,
      healthMaxLagBlocks: 30,
      logLevel: "info",
      deploymentsDir: undefined,
    });
  });

  it("treats empty variables (FOO= in a .env file) as unset where it has a default", function () {
    const config = readConfig({
      ROLES: "indexer",
      RPC_URLS: URL,
      DATABASE_URL: "",
      DATA_DIR: "",
      CONFIRMATIONS: "",
      POLL_INTERVAL_MS: " ",
      STATUS_PORT: "",
      HEALTH_MAX_LAG_BLOCKS: "",
      OPENPAY_DEPLOYMENTS_DIR: "",
    });
    expect(config).to.deep.include({
      databaseUrl: undefined,
      dataDir: path.resolve("data/indexer"),
      confirmations: { depth: 12, mode: "depth" },
      pollIntervalMs: 250,
      statusPort: 9464,
      healthMaxLagBlocks: 30,
      deploymentsDir: undefined,
    });
  });

  it("reads every variable it is given", function () {
    const config = readConfig({
      ROLES: "indexer",
      RPC_URLS: ` ${URL} , http://127.0.0.1:8545,, `,
      DATABASE_URL: "postgresql://indexer@db:5432/openpay",
      DATA_DIR: "/var/lib/openpay",
      CONFIRMATIONS: " 15 ",
      FINALITY: "either",
      POLL_INTERVAL_MS: "1000",
      STATUS_PORT: "0",
      HEALTH_MAX_LAG_BLOCKS: "1000000",
      LOG_LEVEL: "debug",
      OPENPAY_DEPLOYMENTS_DIR: "/etc/openpay/deployments",
    });
    expect(config).to.deep.include({
      rpcUrls: [URL, "http://127.0.0.1:8545"],
      databaseUrl: "postgresql://indexer@db:5432/openpay",
      dataDir: "/var/lib/openpay",
      confirmations: { depth: 15, mode: "either" },
      pollIntervalMs: 1_000,
      statusPort: 0,
      healthMaxLagBlocks: 1_000_000,
      logLevel: "debug",
      deploymentsDir: "/etc/openpay/deployments",
    });
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL, DATABASE_URL: "postgres://x@y/z" }).databaseUrl).to.equal("postgres://x@y/z");
  });

  it("accepts the bounds of every whole-number variable", function () {
    const low = readConfig({ ROLES: "indexer", RPC_URLS: URL, CONFIRMATIONS: "1", POLL_INTERVAL_MS: "1", STATUS_PORT: "0", HEALTH_MAX_LAG_BLOCKS: "1" });
    expect(low).to.deep.include({ confirmations: { depth: 1, mode: "depth" }, pollIntervalMs: 1, statusPort: 0, healthMaxLagBlocks: 1 });
    const high = readConfig({
      ROLES: "indexer",
      RPC_URLS: URL,
      CONFIRMATIONS: "1000",
      POLL_INTERVAL_MS: "60000",
      STATUS_PORT: "65535",
      HEALTH_MAX_LAG_BLOCKS: "1000000",
    });
    expect(high).to.deep.include({ confirmations: { depth: 1_000, mode: "depth" }, pollIntervalMs: 60_000, statusPort: 65_535, healthMaxLagBlocks: 1_000_000 });
  });

  describe("names the variable that is wrong", function () {
    const CASES: Array<[string, Record<string, string>, string]> = [
      ["RPC_URLS missing", {}, "RPC_URLS is not set: one or more JSON-RPC URLs, comma-separated (the first is preferred)"],
      ["RPC_URLS empty", { RPC_URLS: "" }, "RPC_URLS must be http(s) URLs, comma-separated"],
      ["RPC_URLS only commas", { RPC_URLS: " , ," }, "RPC_URLS must be http(s) URLs, comma-separated"],
      ["RPC_URLS with a WebSocket URL", { RPC_URLS: `${URL},wss://bsc.example` }, "RPC_URLS must be http(s) URLs, comma-separated"],
      ["RPC_URLS without a scheme", { RPC_URLS: "bsc-dataseed.example" }, "RPC_URLS must be http(s) URLs, comma-separated"],
      ["DATABASE_URL", { RPC_URLS: URL, DATABASE_URL: "mysql://db/openpay" }, "DATABASE_URL must start with postgres:// or postgresql://"],
      ["CONFIRMATIONS 0", { RPC_URLS: URL, CONFIRMATIONS: "0" }, 'CONFIRMATIONS must be a whole number 1..1000, got "0"'],
      ["CONFIRMATIONS 1001", { RPC_URLS: URL, CONFIRMATIONS: "1001" }, 'CONFIRMATIONS must be a whole number 1..1000, got "1001"'],
      ["CONFIRMATIONS 12.5", { RPC_URLS: URL, CONFIRMATIONS: "12.5" }, 'CONFIRMATIONS must be a whole number 1..1000, got "12.5"'],
      ["CONFIRMATIONS 1e2", { RPC_URLS: URL, CONFIRMATIONS: "1e2" }, 'CONFIRMATIONS must be a whole number 1..1000, got "1e2"'],
      ["CONFIRMATIONS 0x10", { RPC_URLS: URL, CONFIRMATIONS: "0x10" }, 'CONFIRMATIONS must be a whole number 1..1000, got "0x10"'],
      ["CONFIRMATIONS -1", { RPC_URLS: URL, CONFIRMATIONS: "-1" }, 'CONFIRMATIONS must be a whole number 1..1000, got "-1"'],
      ["CONFIRMATIONS twelve", { RPC_URLS: URL, CONFIRMATIONS: "twelve" }, 'CONFIRMATIONS must be a whole number 1..1000, got "twelve"'],
      ["FINALITY", { RPC_URLS: URL, FINALITY: "fast" }, "FINALITY must be depth, finalized, either or both"],
      ["POLL_INTERVAL_MS 0", { RPC_URLS: URL, POLL_INTERVAL_MS: "0" }, 'POLL_INTERVAL_MS must be a whole number 1..60000, got "0"'],
      ["POLL_INTERVAL_MS 60001", { RPC_URLS: URL, POLL_INTERVAL_MS: "60001" }, 'POLL_INTERVAL_MS must be a whole number 1..60000, got "60001"'],
      ["STATUS_PORT", { RPC_URLS: URL, STATUS_PORT: "65536" }, 'STATUS_PORT must be a whole number 0..65535, got "65536"'],
      ["STATUS_PORT huge", { RPC_URLS: URL, STATUS_PORT: "99999999999999999999" }, 'STATUS_PORT must be a whole number 0..65535, got "99999999999999999999"'],
      ["HEALTH_MAX_LAG_BLOCKS", { RPC_URLS: URL, HEALTH_MAX_LAG_BLOCKS: "0" }, 'HEALTH_MAX_LAG_BLOCKS must be a whole number 1..1000000, got "0"'],
      ["WS_URL", { RPC_URLS: URL, WS_URL: URL }, "WS_URL must be a ws:// or wss:// URL"],
      ["OPERATOR_PRIVATE_KEY", { RPC_URLS: URL, OPERATOR_PRIVATE_KEY: KEY.slice(0, -1) }, "OPERATOR_PRIVATE_KEY must be 0x followed by 64 hex digits"],
      ["KEEPER_INTERVAL_MS", { RPC_URLS: URL, KEEPER_INTERVAL_MS: "5" }, 'KEEPER_INTERVAL_MS must be a whole number 10..600000, got "5"'],
      ["KEEPER_STUCK_AFTER_MS 999", { RPC_URLS: URL, KEEPER_STUCK_AFTER_MS: "999" }, 'KEEPER_STUCK_AFTER_MS must be a whole number 1000..3600000, got "999"'],
      [
        "KEEPER_STUCK_AFTER_MS 3600001",
        { RPC_URLS: URL, KEEPER_STUCK_AFTER_MS: "3600001" },
        'KEEPER_STUCK_AFTER_MS must be a whole number 1000..3600000, got "3600001"',
      ],
      ["KEEPER_STUCK_AFTER_MS 30s", { RPC_URLS: URL, KEEPER_STUCK_AFTER_MS: "30s" }, 'KEEPER_STUCK_AFTER_MS must be a whole number 1000..3600000, got "30s"'],
    ];
    for (const [what, env, message] of CASES) {
      it(what, function () {
        expect(failure(env)).to.equal(message);
      });
    }
  });

  it("lists every wrong variable at once, in one message", function () {
    const message = failure({
      DATABASE_URL: "sqlite://openpay.db",
      CONFIRMATIONS: "0",
      FINALITY: "soon",
      POLL_INTERVAL_MS: "1.5",
      STATUS_PORT: "70000",
      HEALTH_MAX_LAG_BLOCKS: "-3",
    });
    const parts = message.split("; ");
    expect(parts).to.have.length(7);
    for (const name of ["RPC_URLS", "DATABASE_URL", "CONFIRMATIONS", "FINALITY", "POLL_INTERVAL_MS", "STATUS_PORT", "HEALTH_MAX_LAG_BLOCKS"]) {
      expect(
        parts.filter((part) => part.startsWith(name)),
        name,
      ).to.have.length(1);
    }
  });

  it("ignores variables it does not know", function () {
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL, PATH: "/usr/bin", BSC_RPC_URL: "nonsense" }).rpcUrls).to.deep.equal([URL]);
  });

  it("refuses an unknown LOG_LEVEL, listing the levels (its message does not name LOG_LEVEL yet: reported)", function () {
    expect(failure({ RPC_URLS: URL, LOG_LEVEL: "verbose" })).to.match(/fatal.*error.*warn.*info.*debug.*trace.*silent/);
  });

  it("reads the WebSocket URL, the keeper's key (trimmed) and its interval", function () {
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL, OPERATOR_PRIVATE_KEY: ` ${KEY} ` }).operatorKey).to.equal(KEY);
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL, OPERATOR_PRIVATE_KEY: "" }).operatorKey).to.equal(undefined);
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL, WS_URL: "wss://bsc.example/ws" }).wsUrl).to.equal("wss://bsc.example/ws");
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL }).keeperIntervalMs).to.equal(1_000);
  });

  it("reads how long the keeper waits for a transaction, with its default and bounds", function () {
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL }).keeperStuckAfterMs).to.equal(30_000);
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL, KEEPER_STUCK_AFTER_MS: "" }).keeperStuckAfterMs).to.equal(30_000);
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL, KEEPER_STUCK_AFTER_MS: " 45000 " }).keeperStuckAfterMs).to.equal(45_000);
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL, KEEPER_STUCK_AFTER_MS: "1000" }).keeperStuckAfterMs).to.equal(1_000);
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL, KEEPER_STUCK_AFTER_MS: "3600000" }).keeperStuckAfterMs).to.equal(3_600_000);
    expect(failure({ RPC_URLS: URL, ROLES: "indexer", KEEPER_STUCK_AFTER_MS: "-1" })).to.equal(
      'KEEPER_STUCK_AFTER_MS must be a whole number 1000..3600000, got "-1"',
    );
  });

  it("reads the proxies trusted for X-Forwarded-For (none by default), naming an entry that is not an address or CIDR", function () {
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL }).apiTrustedProxies).to.deep.equal([]);
    expect(readConfig({ ROLES: "indexer", RPC_URLS: URL, API_TRUSTED_PROXIES: " 10.0.0.0/8, ::1 ,," }).apiTrustedProxies).to.deep.equal(["10.0.0.0/8", "::1"]);
    expect(failure({ ROLES: "indexer", RPC_URLS: URL, API_TRUSTED_PROXIES: "10.0.0.0/8, lb.internal" })).to.match(
      /API_TRUSTED_PROXIES: "lb\.internal" is not a CIDR range/,
    );
  });

  it("runs every role by default; the API needs the intent signer's key and names it when missing", function () {
    expect(failure({ RPC_URLS: URL })).to.match(/^INTENT_SIGNER_PRIVATE_KEY is not set/);
    const all = readConfig({ RPC_URLS: URL, INTENT_SIGNER_PRIVATE_KEY: KEY });
    expect([...all.roles]).to.deep.equal(["indexer", "api", "webhooks"]);
    expect(all).to.deep.include({ apiHost: "127.0.0.1", apiPort: 8080, publicUrl: "http://127.0.0.1:8080", apiRateLimit: 100, intentSignerKey: KEY });
    const webhooksOnly = readConfig({ RPC_URLS: URL, ROLES: " webhooks " });
    expect([...webhooksOnly.roles]).to.deep.equal(["webhooks"]);
    expect(readConfig({ RPC_URLS: URL, ROLES: "api", INTENT_SIGNER_PRIVATE_KEY: KEY, API_PORT: "9000", PUBLIC_URL: "https://pay.example" }).publicUrl).to.equal(
      "https://pay.example",
    );
  });

  it("reads the dashboard's demo sign-in account, and refuses it on any chain but Hardhat's local one", function () {
    const demo = "0x90f79bf6eb2c4f870365e785982e1f101e93b906";
    const base = { ROLES: "indexer", RPC_URLS: URL };
    expect(readConfig(base).dashboardDemoSignIn).to.equal(undefined);
    expect(readConfig({ ...base, DASHBOARD_DEMO_SIGN_IN: " " }).dashboardDemoSignIn).to.equal(undefined);
    const config = readConfig({ ...base, DASHBOARD_DEMO_SIGN_IN: ` ${demo} ` });
    expect(config.dashboardDemoSignIn).to.equal("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
    expect(failure({ ...base, DASHBOARD_DEMO_SIGN_IN: "yes" })).to.match(/^DASHBOARD_DEMO_SIGN_IN must be the address of an account/);

    expect(() => checkChainSettings(config, 31337)).to.not.throw();
    for (const chainId of [56, 97, 1]) {
      expect(() => checkChainSettings(config, chainId)).to.throw(
        new RegExp(`^DASHBOARD_DEMO_SIGN_IN is set, but the chain is ${chainId}: .* only the local Hardhat chain \\(31337\\)`),
      );
    }
    expect(() => checkChainSettings(readConfig(base), 56)).to.not.throw();
  });

  it("refuses unknown roles, a malformed signer key and a PUBLIC_URL that is not http(s), naming each", function () {
    expect(failure({ RPC_URLS: URL, ROLES: "indexer,mailer" })).to.match(/ROLES must be one or more of indexer, api, webhooks.*mailer/);
    expect(failure({ RPC_URLS: URL, ROLES: "api", INTENT_SIGNER_PRIVATE_KEY: "0x12" })).to.match(/INTENT_SIGNER_PRIVATE_KEY must be 0x/);
    expect(failure({ RPC_URLS: URL, ROLES: "indexer", PUBLIC_URL: "pay.example" })).to.match(/PUBLIC_URL must be/);
    expect(failure({ RPC_URLS: URL, ROLES: "indexer", API_RATE_LIMIT: "0" })).to.match(/API_RATE_LIMIT must be a whole number/);
  });
});
