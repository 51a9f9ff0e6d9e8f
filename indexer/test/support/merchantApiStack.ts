import http from "node:http";
import type { FastifyInstance } from "fastify";
import { createRpcClient } from "../../src/chain/rpcClient";
import type { ApiContext } from "../../src/api/apiContext";
import { apiContext } from "../../src/api/apiSetup";
import { buildMerchantApi } from "../../src/api/merchantApi";
import { checkoutRoutes } from "../../src/checkout/checkoutRoutes";
import { createApiKey, createMerchant, type Merchant } from "../../src/store/merchantStore";
import type { Store } from "../../src/store/database";
import { parseAllowList } from "../../src/ledger/webhookAddressPolicy";
import { INTENT_SIGNER_KEY, SETTINGS, type LocalChain } from "./localChain";

export { INTENT_SIGNER_KEY };

export interface ApiStack {
  /** The API's base URL on 127.0.0.1. */
  url: string;
  app: FastifyInstance;
  context: ApiContext;
  /** The deployment's demo merchant, with a test key. */
  merchant: Merchant;
  key: string;
  close(): Promise<void>;
}

/** The API's limits; by default high enough for any test that does not test them. */
export interface ApiStackOptions {
  rateLimit?: number;
  rateWindowMs?: number;
  authFailureLimit?: number;
  trustedProxies?: string[];
}

/** The merchant API on a real port, over `db` and the local chain's deployment. */
export async function startApiStack(chain: LocalChain, store: Pick<Store, "db" | "listen">, options: ApiStackOptions = {}): Promise<ApiStack> {
  const { db } = store;
  const context = await apiContext({
    db,
    listen: store.listen,
    client: createRpcClient([chain.url]),
    record: chain.record,
    signerKey: INTENT_SIGNER_KEY,
    publicUrl: "http://127.0.0.1:8080",
    settings: SETTINGS,
    webhookAllowList: parseAllowList("127.0.0.1/32"),
    authFailureLimit: options.authFailureLimit ?? 10_000,
  });
  const app = await buildMerchantApi(context, {
    rateLimit: options.rateLimit ?? 10_000,
    rateWindowMs: options.rateWindowMs ?? 1000,
    trustedProxies: options.trustedProxies,
    logger: false,
    routes: [(app) => checkoutRoutes(app, context)],
  });
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  const merchant = await createMerchant(db, { name: "Demo shop", address: chain.record.demoMerchant!.merchant });
  const { key } = await createApiKey(db, merchant.id, "test");
  return { url: address, app, context, merchant, key, close: () => app.close() };
}

/**
 * A JSON request to the API: the status, the parsed body and the headers. `from` sends it from that local address
 * (any of 127.0.0.0/8 on Linux), for the limits the API keeps per client address.
 */
export async function call(
  stack: { url: string },
  method: string,
  path: string,
  { key, body, headers = {}, from }: { key?: string; body?: unknown; headers?: Record<string, string>; from?: string } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const request = {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  };
  const response = from ? await fetchFrom(from, `${stack.url}${path}`, request) : await fetch(`${stack.url}${path}`, request);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the test sees the text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** `fetch` from a given local address, which fetch itself cannot bind. */
function fetchFrom(
  localAddress: string,
  url: string,
  { method, headers, body }: { method: string; headers: Record<string, string>; body?: string },
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, localAddress }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        const answered = new Headers();
        for (const [name, value] of Object.entries(response.headers)) for (const one of [value ?? []].flat()) answered.append(name, one);
        const content = Buffer.concat(chunks);
        resolve(new Response(content.length > 0 ? content : null, { status: response.statusCode, headers: answered }));
      });
    });
    request.on("error", reject);
    request.end(body);
  });
}
