import { expect } from "chai";
import { Webhook } from "standardwebhooks";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatAccountKey, LOCAL_ACCOUNTS } from "../../../scripts/stack/hardhatAccounts";
import { openStore } from "../../src/store/database";
import { createApiKey, createMerchant } from "../../src/store/merchantStore";
import { startIndexerProcess, type IndexerProcess } from "./indexerProcess";
import type { LocalChain } from "./localChain";
import { call, INTENT_SIGNER_KEY } from "./merchantApiStack";
import { freshPostgresDatabase } from "./stores";
import { WebhookReceiver } from "./webhookReceiver";

/**
 * The whole gateway for end-to-end tests: the Open Pay process of indexer/src/main.ts with every role (indexer,
 * keeper, merchant API, webhook worker) on a fresh PostgreSQL database, the demo merchant with a test key, and a
 * webhook endpoint pointing at a real receiver on 127.0.0.1 whose deliveries are verified with `standardwebhooks`.
 */

/** Hardhat's account 1: the local deployment's operator, the keeper's key (deploy/parameters/local.json5). */
export const OPERATOR_KEY = hardhatAccountKey(LOCAL_ACCOUNTS.operator);
export const OPERATOR_ADDRESS = privateKeyToAccount(OPERATOR_KEY).address;

/** A webhook as the merchant's receiver takes it, once its signature has been verified. */
export interface VerifiedEvent {
  /** webhook-id */
  id: string;
  type: string;
  timestamp: string;
  data: any;
}

export interface Gateway {
  process: IndexerProcess;
  api: { url: string };
  key: string;
  receiver: WebhookReceiver;
  endpoint: { id: string; secret: string };
  /** A request to the API with the merchant's key. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Creates a payment (201 or the test fails with the API's answer). */
  createPayment(body: Record<string, unknown>): Promise<any>;
  /** GET /v1/payments/:id (200 or the test fails). */
  payment(id: string): Promise<any>;
  /** Polls the payment until `check` holds; fails naming `what` with the process's last output. */
  paymentWhen(id: string, what: string, check: (payment: any) => boolean, timeoutMs?: number): Promise<any>;
  /**
   * Every delivery received for the payment, each verified against the endpoint's secret (a delivery that does not
   * verify fails the test), one per webhook-id, in the documented order: by `data.sequence`, then by `timestamp`.
   */
  events(paymentId: string): VerifiedEvent[];
  /** Waits until `count` distinct events of the payment have arrived; returns them as `events` does. */
  eventsWhen(paymentId: string, count: number, timeoutMs?: number): Promise<VerifiedEvent[]>;
  close(): Promise<void>;
}

export async function startGateway(chain: LocalChain, name = "gateway"): Promise<Gateway> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    let failure: unknown;
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure) throw failure;
  };
  try {
    const database = await freshPostgresDatabase();
    cleanups.push(database.drop);
    const store = await openStore({ url: database.url });
    let key: string;
    try {
      const merchant = await createMerchant(store.db, { name: "Demo shop", address: chain.record.demoMerchant!.merchant });
      key = (await createApiKey(store.db, merchant.id, "test")).key;
    } finally {
      await store.close();
    }
    const receiver = await WebhookReceiver.start();
    cleanups.push(() => receiver.close());

    const process = startIndexerProcess(name, {
      rpcUrl: chain.url,
      deploymentsDir: chain.deploymentsDir,
      databaseUrl: database.url,
      env: {
        ROLES: "indexer,api,webhooks",
        OPERATOR_PRIVATE_KEY: OPERATOR_KEY,
        INTENT_SIGNER_PRIVATE_KEY: INTENT_SIGNER_KEY,
        API_PORT: "0",
        WEBHOOK_ALLOWED_CIDRS: "127.0.0.1/32",
        CONFIRMATIONS: "12",
        POLL_INTERVAL_MS: "50",
        KEEPER_INTERVAL_MS: "100",
      },
    });
    cleanups.push(async () => {
      const exit = await process.stop();
      // A clean shutdown: the process ends its roles and exits 0 on SIGTERM.
      if (exit.code !== 0) throw new Error(`${name} exited ${JSON.stringify(exit)}:\n${process.tail()}`);
    });
    const listening = await process.log("merchant API listening", { timeoutMs: 60_000 });
    await process.log("keeper running");
    await process.log("webhook worker running");
    const api = { url: String(listening.address) };

    const request = async (method: string, path: string, body?: unknown) => call(api, method, path, { key, body });
    const created = await request("POST", "/v1/webhook_endpoints", { url: receiver.url });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const endpoint = { id: created.body.id as string, secret: created.body.secret as string };
    const verifier = new Webhook(endpoint.secret);

    const events = (paymentId: string): VerifiedEvent[] => {
      const byId = new Map<string, VerifiedEvent>();
      for (const delivery of receiver.received) {
        // Throws on a signature that does not match the secret, or a timestamp out of tolerance.
        const body = verifier.verify(delivery.body, {
          "webhook-id": delivery.id,
          "webhook-timestamp": delivery.timestamp,
          "webhook-signature": delivery.signature,
        }) as { type: string; timestamp: string; data: any };
        if (body.data?.id !== paymentId) continue;
        const event = { id: delivery.id, type: body.type, timestamp: body.timestamp, data: body.data };
        const seen = byId.get(delivery.id);
        // A repeat of the same webhook-id (at least once) is the same event, byte for byte.
        if (seen) expect(JSON.stringify(seen), `repeat of ${delivery.id}`).to.equal(JSON.stringify(event));
        byId.set(delivery.id, event);
      }
      return [...byId.values()].sort((a, b) => a.data.sequence - b.data.sequence || Date.parse(a.timestamp) - Date.parse(b.timestamp));
    };

    const payment = async (id: string) => {
      const response = await request("GET", `/v1/payments/${id}`);
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      return response.body;
    };

    return {
      process,
      api,
      key,
      receiver,
      endpoint,
      request,
      createPayment: async (body) => {
        const response = await request("POST", "/v1/payments", body);
        expect(response.status, JSON.stringify(response.body)).to.equal(201);
        return response.body;
      },
      payment,
      paymentWhen: async (id, what, check, timeoutMs = 30_000) => {
        let last: any;
        try {
          return await process.until(
            what,
            async () => {
              last = await payment(id);
              return check(last) ? last : undefined;
            },
            { timeoutMs, pollMs: 50 },
          );
        } catch (error) {
          throw new Error(
            `${(error as Error).message}\nthe payment was: ${JSON.stringify(last && { ...last, payment_options: undefined, intent: undefined })}`,
          );
        }
      },
      events,
      eventsWhen: async (paymentId, count, timeoutMs = 30_000) => {
        await process
          .until(`${count} webhooks of ${paymentId}`, () => (events(paymentId).length >= count ? true : undefined), { timeoutMs, pollMs: 50 })
          .catch((error) => {
            throw new Error(
              `${(error as Error).message}\nreceived: ${events(paymentId)
                .map((event) => event.type)
                .join(", ")}`,
            );
          });
        return events(paymentId);
      },
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
