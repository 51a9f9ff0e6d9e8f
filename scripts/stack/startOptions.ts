import { parseArgs } from "node:util";
import { CONFIG_VARIABLES } from "../../indexer/src/config";
import { StartError } from "./startError";
import { userPath } from "./repository";
import { variableNotes, wrapped } from "./variableNotes";

/**
 * The options of `npm start`. Each has a variable of the same meaning (an option wins over its variable); what each
 * is for is written once, in .env.example, and `--help` shows it from there. The services' own variables are
 * config.ts's (CONFIG_VARIABLES): `--help` lists those too.
 */
export const START_OPTIONS = [
  { flag: "rpc-url", variable: "RPC_URL", value: "<url,…>" },
  { flag: "deployment", variable: "DEPLOYMENT_FILE", value: "<file>" },
  { flag: "data-dir", variable: "STACK_DATA_DIR", value: "<dir>" },
  { flag: "chain-port", variable: "LOCAL_CHAIN_PORT", value: "<port>" },
  { flag: "block-time", variable: "LOCAL_BLOCK_TIME_MS", value: "<ms>" },
  { flag: "api-port", variable: "API_PORT", value: "<port>" },
  { flag: "status-port", variable: "STATUS_PORT", value: "<port>" },
] as const;

type Flag = (typeof START_OPTIONS)[number]["flag"];

/** Variables of the services that `npm start` sets itself on a local chain (what the user gives there is not used). */
export const SET_ON_LOCAL_CHAIN = [
  "RPC_URLS",
  "WS_URL",
  "DATABASE_URL",
  "DATA_DIR",
  "OPENPAY_DEPLOYMENTS_DIR",
  "OPERATOR_PRIVATE_KEY",
  "INTENT_SIGNER_PRIVATE_KEY",
  "DASHBOARD_DEMO_SIGN_IN",
  "ROLES",
] as const;

export const DEFAULT_CHAIN_PORT = 8545;
export const DEFAULT_BLOCK_TIME_MS = 1000;

export interface StartSettings {
  help: boolean;
  /** Run against this chain (BSC) rather than a local one. */
  rpcUrls?: string[];
  /** Where the RPC URLs came from, for errors: `--rpc-url`, `RPC_URL` or `RPC_URLS`. */
  rpcSource?: string;
  deploymentFile?: string;
  /** The folder given; each mode has its own default. */
  dataDir?: string;
  chainPort: number;
  blockTimeMs: number;
  /** The environment for the services: the caller's, with --api-port and --status-port written in. */
  env: NodeJS.ProcessEnv;
}

/** How a setting was given, to name it in an error: the option when given, else its variable. */
export function settingName(flag: Flag, given: "option" | "variable"): string {
  const option = START_OPTIONS.find((entry) => entry.flag === flag)!;
  return given === "option" ? `--${option.flag}` : option.variable;
}

/** Where a setting can be changed: `--chain-port or LOCAL_CHAIN_PORT`. */
export function changedWith(flag: Flag): string {
  const option = START_OPTIONS.find((entry) => entry.flag === flag)!;
  return `--${option.flag} or ${option.variable}`;
}

function blank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function wholeNumber(flag: Flag, given: "option" | "variable", value: string, min: number, max: number, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new StartError(`${settingName(flag, given)} must be ${what} ${min}..${max}, got "${value}"`);
  }
  return Number(value);
}

/** The settings of `npm start` from its arguments and the environment; errors name the option or variable. */
export function readStartSettings(argv: string[], env: NodeJS.ProcessEnv): StartSettings {
  let values: Partial<Record<Flag | "help", string | boolean>>;
  try {
    const options: Record<string, { type: "string" | "boolean"; short?: string }> = { help: { type: "boolean", short: "h" } };
    for (const option of START_OPTIONS) options[option.flag] = { type: "string" };
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (error) {
    throw new StartError(`${(error as Error).message.split("\n")[0]} (npm start -- --help lists the options)`);
  }
  const given = (flag: Flag): { value?: string; from: "option" | "variable" } => {
    const option = START_OPTIONS.find((entry) => entry.flag === flag)!;
    const fromOption = values[flag];
    if (typeof fromOption === "string") {
      if (fromOption.trim() === "") throw new StartError(`--${flag} needs a value ${option.value}`);
      return { value: fromOption.trim(), from: "option" };
    }
    return { value: blank(env[option.variable]), from: "variable" };
  };

  const services: NodeJS.ProcessEnv = { ...env };
  for (const flag of ["api-port", "status-port"] as const) {
    const { value, from } = given(flag);
    if (value !== undefined) {
      wholeNumber(flag, from, value, 0, 65_535, "a port number");
      services[flag === "api-port" ? "API_PORT" : "STATUS_PORT"] = value;
    }
  }

  const rpc = given("rpc-url");
  const rpcList = rpc.value ?? blank(env.RPC_URLS);
  const rpcSource = rpc.value === undefined ? (rpcList === undefined ? undefined : "RPC_URLS") : settingName("rpc-url", rpc.from);
  const rpcUrls = rpcList
    ?.split(",")
    .map((url) => url.trim())
    .filter(Boolean);
  if (rpcUrls && !rpcUrls.every((url) => /^https?:\/\/[^/]/.test(url))) {
    throw new StartError(`${rpcSource} must be http(s) JSON-RPC URLs, comma-separated, got "${rpcList}"`);
  }

  const chainPort = given("chain-port");
  const blockTime = given("block-time");
  const deployment = given("deployment");
  const dataDir = given("data-dir");
  if (rpcUrls) {
    for (const flag of ["chain-port", "block-time"] as const) {
      if (typeof values[flag] === "string") throw new StartError(`--${flag} is for a local chain; with ${rpcSource} npm start starts no chain`);
    }
  } else if (typeof values.deployment === "string") {
    throw new StartError("--deployment is for running against a chain (--rpc-url or RPC_URL); a local chain is deployed afresh");
  }

  return {
    help: values.help === true,
    rpcUrls,
    rpcSource,
    deploymentFile: deployment.value === undefined ? undefined : userPath(deployment.value),
    dataDir: dataDir.value === undefined ? undefined : userPath(dataDir.value),
    chainPort: chainPort.value === undefined ? DEFAULT_CHAIN_PORT : wholeNumber("chain-port", chainPort.from, chainPort.value, 0, 65_535, "a port number"),
    blockTimeMs:
      blockTime.value === undefined
        ? DEFAULT_BLOCK_TIME_MS
        : wholeNumber("block-time", blockTime.from, blockTime.value, 10, 60_000, "a number of milliseconds"),
    env: services,
  };
}

/** Variables in a row that .env.example describes with one comment, as one entry. */
function sameNoteTogether(names: readonly string[], notes: Map<string, string>): Array<{ names: string[]; note?: string }> {
  const entries: Array<{ names: string[]; note?: string }> = [];
  for (const name of names) {
    const note = notes.get(name);
    const last = entries.at(-1);
    if (last && note !== undefined && last.note === note) last.names.push(name);
    else entries.push({ names: [name], note });
  }
  return entries;
}

/** `npm start -- --help`: the options, then every variable of the services, described as .env.example describes them. */
export function startHelp(): string {
  const notes = variableNotes();
  const column = 30;
  const entry = (name: string, note: string | undefined) => {
    const head = `  ${name}`;
    const body = note ? wrapped(note, " ".repeat(column)).trimStart() : "";
    return head.length < column ? `${head.padEnd(column)}${body}` : `${head}\n${" ".repeat(column)}${body}`;
  };
  const lines = [
    "usage: npm start [-- options]",
    "",
    "Runs Open Pay in one command.",
    "",
    wrapped(
      "Without --rpc-url: a local Hardhat chain on 127.0.0.1 that makes a block every second, Open Pay deployed on it " +
        "with mock USDT, USDC and price feeds, and the indexer, keeper, merchant API, webhook worker and hosted checkout " +
        "on PGlite, with a demo merchant and its test API key (printed, and kept in the data folder for `npm run demo`). " +
        "The local chain lives in memory, so the local stack starts fresh every time: its data folder (data/local) is " +
        "wiped at each start.",
      "",
    ),
    "",
    wrapped(
      "With --rpc-url (RPC_URL, or RPC_URLS) — BSC or BSC testnet: no chain is started and nothing is deployed; the " +
        "services run against that chain, its deployment record (deployments/<chainId>.json or --deployment) and " +
        "DATABASE_URL, and npm start says how to create a merchant. INTENT_SIGNER_PRIVATE_KEY is needed; OPERATOR_PRIVATE_KEY " +
        "runs the keeper.",
      "",
    ),
    "",
    "Options (each may be given as the variable beside it instead; the option wins):",
    ...START_OPTIONS.map((option) => entry(`--${option.flag} ${option.value}`, `${option.variable}. ${notes.get(option.variable) ?? ""}`)),
    entry("-h, --help", "this text"),
    "",
    wrapped(
      "The services' variables, from the environment or a .env file (.env.example describes each). npm start always " +
        `runs every role (ROLES); on a local chain it sets ${SET_ON_LOCAL_CHAIN.filter((name) => name !== "ROLES").join(", ")} ` +
        "itself, and WEBHOOK_ALLOWED_CIDRS defaults to 127.0.0.1/32 so that a local receiver (npm run demo) gets webhooks.",
      "",
    ),
    ...sameNoteTogether(
      CONFIG_VARIABLES.filter((name) => !START_OPTIONS.some((option) => option.variable === name)),
      notes,
    ).map(({ names, note }) => entry(names.join(", "), note)),
    "",
    "Then: npm run demo (another terminal) pays a payment on the local stack and shows its webhooks; docs/local-stack.md.",
  ];
  return lines.join("\n");
}
