import { createServer } from "node:net";
import type { FastifyInstance } from "fastify";
import { createSiweMessage } from "viem/siwe";
import hre from "hardhat";
import { createWalletClient, hexToString, http, parseEther, toHex, type Address, type Hex } from "viem";
import type { Page } from "playwright-core";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { hardhatAccountKey } from "../../../scripts/stack/hardhatAccounts";
import type { ApiContext } from "../../src/api/apiContext";
import { apiContext } from "../../src/api/apiSetup";
import { buildMerchantApi } from "../../src/api/merchantApi";
import { openPayEscrowAbi } from "../../src/chain/escrowAbi";
import { createRpcClient } from "../../src/chain/rpcClient";
import { dashboardRoutes } from "../../src/dashboard/dashboardRoutes";
import { parseAllowList } from "../../src/ledger/webhookAddressPolicy";
import type { Store } from "../../src/store/database";
import { createMerchant, type Merchant } from "../../src/store/merchantStore";
import { INTENT_SIGNER_KEY, SETTINGS, type LocalChain } from "./localChain";
import { openTestStore } from "./stores";

/** Hardhat's account 3: the local deployment's demo merchant. */
export const MERCHANT_KEY = hardhatAccountKey(3);

/** The API with the dashboard on a real port whose URL is its PUBLIC_URL (the sign-in's domain), and a clock to move. */
export interface DashboardStack {
  url: string;
  app: FastifyInstance;
  /** The gateway's context the routes were built with. */
  context: ApiContext;
  merchant: Merchant;
  /** The key of the merchant's address: what signs its sign-ins. */
  merchantKey: Hex;
  /** Moves the dashboard's clock (not the chain's) by `ms`. */
  advance(ms: number): void;
  close(): Promise<void>;
}

/** A free port on 127.0.0.1: the public URL must name the port before the server listens on it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `demoSignIn`: the account the one-click demo sign-in signs in as (off without it), as npm start sets it.
 * `merchant`: the deployment's demo merchant (account 3) when the store has it already; else it is created.
 */
export async function startDashboardStack(
  chain: LocalChain,
  store: Pick<Store, "db" | "listen">,
  { demoSignIn, merchant }: { demoSignIn?: Address; merchant?: Merchant } = {},
): Promise<DashboardStack> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const context = await apiContext({
    db: store.db,
    listen: store.listen,
    client: createRpcClient([chain.url]),
    record: chain.record,
    signerKey: INTENT_SIGNER_KEY,
    publicUrl: url,
    settings: SETTINGS,
    webhookAllowList: parseAllowList("127.0.0.1/32"),
  });
  let offset = 0;
  const app = await buildMerchantApi(context, {
    rateLimit: 10_000,
    rateWindowMs: 1000,
    logger: false,
    routes: [
      (app) =>
        void dashboardRoutes(app, context, {
          gatewaySigner: context.intents.address,
          now: () => new Date(Date.now() + offset),
          demoSignIn,
          keyOwners: context.auth,
        }),
    ],
  });
  await app.listen({ host: "127.0.0.1", port });
  return {
    url,
    app,
    context,
    merchant: merchant ?? (await createMerchant(store.db, { name: "Demo shop", address: chain.record.demoMerchant!.merchant })),
    merchantKey: MERCHANT_KEY,
    advance: (ms) => {
      offset += ms;
    },
    close: () => app.close(),
  };
}

/**
 * Registers `address` as a merchant on the escrow (paid out to itself, with the gateway's intent signer) and funds it,
 * as the local deployment does the demo merchant: as the signer manager (account 0, deploy/parameters/local.json5).
 */
async function registerOnEscrow(chain: LocalChain, address: Address): Promise<void> {
  await hre.network.provider.send("hardhat_setBalance", [address, toHex(parseEther("100"))]);
  const manager = createWalletClient({ account: privateKeyToAccount(hardhatAccountKey(0)), chain: hardhat, transport: http(chain.url) });
  const intentSigner = privateKeyToAccount(INTENT_SIGNER_KEY).address;
  const hash = await manager.writeContract({
    address: chain.record.escrow,
    abi: openPayEscrowAbi,
    functionName: "registerMerchant",
    args: [address, address, intentSigner],
  });
  await createRpcClient([chain.url]).waitForTransactionReceipt({ hash });
}

/** What a dashboard test works with: the stack, its store, and the merchant the test signs in as (`merchant`). */
export interface DashboardFixture extends DashboardStack {
  store: Store;
  /**
   * Another dashboard over the same store and chain whose one-click demo sign-in signs in as `address`, its merchant
   * being the deployment's demo merchant (account 3); closed after the test.
   */
  withDemoSignIn(address: Address): Promise<DashboardFixture>;
}

/**
 * Mocha hooks giving a describe block a dashboard over PostgreSQL and `chain` (useLocalChain, whose hooks must be
 * registered first); returns a function giving the current test's fixture.
 *
 * `each: "file"` (the default): one store and stack for the block, as a fresh database and server cost seconds. Tests
 * are kept apart by data: each gets a merchant of its own ("Demo shop", a new key and address), funded on the chain
 * and having authorised the gateway's intent signer, as the demo merchant has. The chain is reverted after each test
 * but the store is not, so no more than one test of such a block may run the indexer into it: a later one would find
 * the checkpoint on blocks the revert took away.
 *
 * `each: "test"`: a fresh store and stack for every test, whose merchant is the deployment's demo merchant (account
 * 3, held by the node): for blocks whose tests each index the chain, or run the webhook worker (it delivers every
 * merchant's events, an earlier test's retries too).
 */
export function useDashboardStack(chain: () => LocalChain, { each = "file" }: { each?: "file" | "test" } = {}): () => DashboardFixture {
  let store: Store | undefined;
  let shared: DashboardStack | undefined;
  let fixture: DashboardFixture | undefined;
  /** What the current test started besides the shared stack, and how far it moved the shared stack's clock. */
  let extras: DashboardStack[] = [];
  let moved = 0;

  const open = async () => {
    store = await openTestStore("postgres");
    shared = await startDashboardStack(chain(), store);
  };
  const shut = async () => {
    await shared?.close();
    await store?.close();
    shared = store = undefined;
  };
  const fixtureOf = (stack: DashboardStack, merchant: Merchant, merchantKey: Hex): DashboardFixture => ({
    ...stack,
    store: store!,
    merchant,
    merchantKey,
    advance: (ms) => {
      if (stack === shared) moved += ms;
      stack.advance(ms);
    },
    withDemoSignIn: async (address) => {
      const demo = await startDashboardStack(chain(), store!, { demoSignIn: address, merchant: shared!.merchant });
      extras.push(demo);
      return fixtureOf(demo, demo.merchant, demo.merchantKey);
    },
  });

  if (each === "file") {
    before(open);
    after(shut);
  }
  beforeEach(async function () {
    if (each === "test") {
      await open();
      fixture = fixtureOf(shared!, shared!.merchant, shared!.merchantKey);
      return;
    }
    const key = generatePrivateKey();
    const address = privateKeyToAccount(key).address;
    await registerOnEscrow(chain(), address);
    fixture = fixtureOf(shared!, await createMerchant(store!.db, { name: "Demo shop", address }), key);
  });
  afterEach(async function () {
    for (const stack of extras) await stack.close();
    extras = [];
    shared?.advance(-moved);
    moved = 0;
    if (each === "test") await shut();
    fixture = undefined;
  });
  return () => {
    if (!fixture) throw new Error("the dashboard's fixture is made in beforeEach");
    return fixture;
  };
}

/** The EIP-4361 message the dashboard's page builds, for `address` and a nonce, with `changes`. */
export function signInMessage(url: string, address: Address, nonce: string, changes: Partial<Parameters<typeof createSiweMessage>[0]> = {}): string {
  const now = new Date();
  return createSiweMessage({
    domain: new URL(url).host,
    address,
    statement: "Sign in to the Open Pay dashboard.",
    uri: `${url}/dashboard`,
    version: "1",
    chainId: 31337,
    nonce,
    issuedAt: now,
    expirationTime: new Date(now.getTime() + 5 * 60_000),
    ...changes,
  });
}

/** The merchant of `key` (by default the demo merchant, account 3) authorises or revokes `signer` on the escrow. */
export async function setSigner(chain: LocalChain, signer: Address, authorised: boolean, key: Hex = MERCHANT_KEY): Promise<void> {
  const wallet = createWalletClient({ account: privateKeyToAccount(key), chain: hardhat, transport: http(chain.url) });
  const hash = await wallet.writeContract({ address: chain.record.escrow, abi: openPayEscrowAbi, functionName: "setSigner", args: [signer, authorised] });
  await createRpcClient([chain.url]).waitForTransactionReceipt({ hash });
}

/** The injected wallet, and what a test makes of the page's sign-in with it. */
export interface KeyWallet {
  /** The messages it signed (personal_sign), in order. */
  signed: string[];
  /**
   * From now on it signs `change(message)` in place of the page's message, and the page's sign-in posts what it
   * signed: a message made for another site or chain, as a phishing page would bring one. Undefined: as it is.
   */
  tamper(change: ((message: string) => string) | undefined): void;
  /** From now on the page's sign-in posts again the last message and signature it posted: a replay. */
  replayLast(): void;
}

/**
 * A browser wallet (an EIP-1193 provider at `window.ethereum`) holding `key`: it answers with its address and signs
 * personal_sign in the test process, as a wallet would after its prompt. It sends no transactions. The page's
 * sign-in request (POST /dashboard/sign-in) passes through the test, which may alter it (KeyWallet).
 */
export async function injectKeyWallet(page: Page, key: Hex, chainId: number): Promise<KeyWallet> {
  const account = privateKeyToAccount(key);
  const signed: string[] = [];
  let change: ((message: string) => string) | undefined;
  let replay = false;
  /** The page's message → the one signed in its place. */
  const swapped = new Map<string, string>();
  let lastPosted: string | undefined;
  await page.exposeFunction("__openPayKeyWallet", async (method: string, params: unknown[]) => {
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return { result: [account.address] };
      case "eth_chainId":
        return { result: `0x${chainId.toString(16)}` };
      case "personal_sign": {
        const [data, address] = params as [Hex, string];
        if (address.toLowerCase() !== account.address.toLowerCase()) return { error: { code: 4100, message: `not this wallet's account: ${address}` } };
        const message = hexToString(data);
        const signing = change ? change(message) : message;
        if (signing !== message) swapped.set(message, signing);
        signed.push(signing);
        return { result: await account.signMessage({ message: signing }) };
      }
      default:
        return { error: { code: 4200, message: `this test wallet does not support ${method}` } };
    }
  });
  await page.route("**/dashboard/sign-in", async (route) => {
    const request = route.request();
    if (request.method() !== "POST") return route.continue();
    let body = request.postData() ?? "";
    if (replay && lastPosted !== undefined) body = lastPosted;
    else {
      const posted = JSON.parse(body) as { message: string; signature: Hex };
      const signing = swapped.get(posted.message);
      if (signing !== undefined) body = JSON.stringify({ ...posted, message: signing });
    }
    lastPosted = body;
    await route.continue({ postData: body });
  });
  await page.addInitScript(() => {
    type Answer = { result?: unknown; error?: { code: number; message: string } };
    (window as unknown as { ethereum: unknown }).ethereum = {
      async request({ method, params }: { method: string; params?: unknown[] }) {
        const call = (window as unknown as { __openPayKeyWallet: (method: string, params: unknown[]) => Promise<Answer> }).__openPayKeyWallet;
        const answer = await call(method, params ?? []);
        if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
        return answer.result;
      },
      on() {},
      removeListener() {},
    };
  });
  return {
    signed,
    tamper: (next) => {
      change = next;
    },
    replayLast: () => {
      replay = true;
    },
  };
}

/** Signs `key`'s account in over HTTP, as the page would: its session cookie (as a Cookie header) and CSRF token. */
export async function signedInSession(stack: DashboardStack, key: Hex = stack.merchantKey): Promise<{ cookie: string; csrfToken: string }> {
  const account = privateKeyToAccount(key);
  const { nonce } = (await (await fetch(`${stack.url}/dashboard/sign-in/nonce`)).json()) as { nonce: string };
  const message = signInMessage(stack.url, account.address, nonce);
  const signature = await account.signMessage({ message });
  const answer = await fetch(`${stack.url}/dashboard/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: stack.url },
    body: JSON.stringify({ message, signature }),
  });
  if (!answer.ok) throw new Error(`sign-in answered ${answer.status}: ${await answer.text()}`);
  const cookie = answer.headers.getSetCookie()[0].split(";")[0];
  const page = await (await fetch(`${stack.url}/dashboard`, { headers: { cookie } })).text();
  const csrfToken = /<meta name="openpay-csrf" content="([^"]+)">/.exec(page)![1];
  return { cookie, csrfToken };
}
