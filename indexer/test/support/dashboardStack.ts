import { createServer } from "node:net";
import type { FastifyInstance } from "fastify";
import { createSiweMessage } from "viem/siwe";
import { createWalletClient, hexToString, http, type Address, type Hex } from "viem";
import type { Page } from "playwright-core";
import { privateKeyToAccount } from "viem/accounts";
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

/** Hardhat's account 3: the local deployment's demo merchant. */
export const MERCHANT_KEY = hardhatAccountKey(3);

/** The API with the dashboard on a real port whose URL is its PUBLIC_URL (the sign-in's domain), and a clock to move. */
export interface DashboardStack {
  url: string;
  app: FastifyInstance;
  /** The gateway's context the routes were built with. */
  context: ApiContext;
  merchant: Merchant;
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

/** `demoSignIn`: the account the one-click demo sign-in signs in as (off without it), as npm start sets it. */
export async function startDashboardStack(
  chain: LocalChain,
  store: Pick<Store, "db" | "listen">,
  { demoSignIn }: { demoSignIn?: Address } = {},
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
  const merchant = await createMerchant(store.db, { name: "Demo shop", address: chain.record.demoMerchant!.merchant });
  return {
    url,
    app,
    context,
    merchant,
    advance: (ms) => {
      offset += ms;
    },
    close: () => app.close(),
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

/** The merchant (account 3) authorises or revokes `signer` on the escrow. */
export async function setSigner(chain: LocalChain, signer: Address, authorised: boolean): Promise<void> {
  const wallet = createWalletClient({ account: privateKeyToAccount(MERCHANT_KEY), chain: hardhat, transport: http(chain.url) });
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
export async function signedInSession(stack: DashboardStack, key: Hex = MERCHANT_KEY): Promise<{ cookie: string; csrfToken: string }> {
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
