import { expect } from "chai";
import type { LookupAddress } from "node:dns";
import { checkWebhookUrl, parseAllowList } from "../src/ledger/webhookAddressPolicy";
import { WebhookClient, type Resolve } from "../src/webhooks/delivery";
import { WebhookWorker } from "../src/webhooks/deliveryWorker";
import { signDelivery } from "../src/webhooks/signing";
import { describeEachStore } from "./support/stores";
import { newEndpoint, newMerchant, newPayment, silentLogger, testViews } from "./support/webhookFixtures";
import { WebhookReceiver } from "./support/webhookReceiver";

const ALLOW_LOCALHOST = parseAllowList("127.0.0.1/32");
const headers = signDelivery({ id: "msg_test", body: "{}", secrets: [`whsec_${Buffer.alloc(32, 7).toString("base64")}`] });

/** A resolver answering from a table, as DNS would, counting the questions: no real DNS is needed. */
function fakeDns(table: Record<string, string[] | (() => string[])>): Resolve & { asked: string[] } {
  const resolve = (async (hostname: string): Promise<LookupAddress[]> => {
    resolve.asked.push(hostname);
    const entry = table[hostname];
    if (!entry) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    const addresses = typeof entry === "function" ? entry() : entry;
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  }) as Resolve & { asked: string[] };
  resolve.asked = [];
  return resolve;
}

describe("webhook HTTP client: the address policy at connect time, redirects, deadlines, response caps", function () {
  let receiver: WebhookReceiver;
  const clients: WebhookClient[] = [];
  const client = (options: ConstructorParameters<typeof WebhookClient>[0]) => {
    const created = new WebhookClient(options);
    clients.push(created);
    return created;
  };
  const at = (host: string, path = "/hooks/openpay") => receiver.url.replace("127.0.0.1", host).replace("/hooks/openpay", path);

  beforeEach(async function () {
    receiver = await WebhookReceiver.start();
  });

  afterEach(async function () {
    for (const created of clients.splice(0)) created.close();
    await receiver.close();
  });

  it("refuses a host name that resolves to loopback, the metadata service or a private address, without connecting", async function () {
    const resolve = fakeDns({ "shop.example": ["127.0.0.1"], "metadata.example": ["169.254.169.254"], "intranet.example": ["10.0.0.7"] });
    const guarded = client({ resolve });
    const cases: Array<[string, RegExp]> = [
      ["shop.example", /refused to connect: shop\.example resolves to 127\.0\.0\.1 is loopback/],
      ["metadata.example", /refused to connect: metadata\.example resolves to 169\.254\.169\.254 is the cloud metadata service/],
      ["intranet.example", /refused to connect: intranet\.example resolves to 10\.0\.0\.7 is private/],
    ];
    for (const [host, reason] of cases) {
      const result = await guarded.post(at(host), "{}", headers);
      expect(result.ok, host).to.equal(false);
      expect(result.error, host).to.match(reason);
    }
    expect(resolve.asked).to.deep.equal(["shop.example", "metadata.example", "intranet.example"]);
    expect(receiver.received, "no request reached the receiver").to.have.length(0);
  });

  it("checks every connection, so a name that was public when the endpoint was created and turns private (DNS rebinding) is refused", async function () {
    let answer = ["93.184.215.14"];
    const resolve = fakeDns({ "rebind.example": () => answer });
    expect(checkWebhookUrl("http://rebind.example/hook", [])).to.equal(undefined);
    answer = ["169.254.169.254"];
    const result = await client({ resolve }).post(at("rebind.example"), "{}", headers);
    expect(result.error).to.match(/rebind\.example resolves to 169\.254\.169\.254/);
  });

  it("connects to a name that resolves into the operator's allow-list, and only to the allowed addresses of a mixed answer", async function () {
    const resolve = fakeDns({ "shop.example": ["10.0.0.7", "127.0.0.1"] });
    const result = await client({ resolve, allowList: ALLOW_LOCALHOST }).post(at("shop.example"), '{"a":1}', headers);
    expect(result).to.include({ ok: true, status: 200, gone: false });
    expect(receiver.received.map((webhook) => [webhook.body, webhook.headers.host])).to.deep.equal([['{"a":1}', new URL(at("shop.example")).host]]);
  });

  it("refuses forbidden IP literals (which Node connects to without a lookup) unless allowed", async function () {
    const port = new URL(receiver.url).port;
    const guarded = client({});
    for (const url of [receiver.url, `http://[::ffff:127.0.0.1]:${port}/`, `http://2130706433:${port}/`]) {
      const result = await guarded.post(url, "{}", headers);
      expect(result.error, url).to.match(/^refused to connect: .*loopback/);
    }
    expect(receiver.received).to.have.length(0);
    expect((await client({ allowList: ALLOW_LOCALHOST }).post(receiver.url, "{}", headers)).ok).to.equal(true);
  });

  it("reports a name that does not resolve", async function () {
    const result = await client({ resolve: fakeDns({}) }).post("http://nowhere.example/hook", "{}", headers);
    expect(result).to.include({ ok: false });
    expect(result.error).to.match(/ENOTFOUND nowhere\.example/);
  });

  it("does not follow redirects, even to an allowed address", async function () {
    const target = await WebhookReceiver.start();
    try {
      receiver.reply = () => ({ status: 302, headers: { location: target.url } });
      const result = await client({ allowList: ALLOW_LOCALHOST }).post(receiver.url, "{}", headers);
      expect(result).to.include({ ok: false, status: 302, gone: false });
      expect(target.received).to.have.length(0);
    } finally {
      await target.close();
    }
  });

  it("reads a response body only up to its cap, and keeps a short excerpt of an error", async function () {
    receiver.reply = () => ({ status: 500, body: `<html>${"x".repeat(2_000_000)}</html>` });
    const result = await client({ allowList: ALLOW_LOCALHOST, maxResponseBytes: 16 * 1024 }).post(receiver.url, "{}", headers);
    expect(result.status).to.equal(500);
    expect(result.error).to.match(/^responded 500: <html>x+$/);
    expect(result.error!.length).to.be.at.most("responded 500: ".length + 200);
  });

  it("keeps the start of a failure's body, without the NULs PostgreSQL's text cannot hold, and none of a success's", async function () {
    receiver.reply = () => ({ status: 422, body: `{"received":false}\u0000${"y".repeat(500)}` });
    const loose = client({ allowList: ALLOW_LOCALHOST });
    const failed = await loose.post(receiver.url, "{}", headers);
    expect(failed).to.include({ ok: false, status: 422 });
    expect(failed.excerpt).to.equal(`{"received":false}${"y".repeat(200 - '{"received":false}'.length - 1)}`);
    receiver.reply = () => ({ status: 200, body: `{"received":true}${"y".repeat(500)}` });
    const ok = await loose.post(receiver.url, "{}", headers);
    expect(ok).to.include({ ok: true, status: 200 });
    expect(ok.excerpt).to.equal(undefined);
    receiver.reply = () => ({ status: 500 });
    expect((await loose.post(receiver.url, "{}", headers)).excerpt).to.equal(undefined);
  });

  it("gives up at the deadline when the receiver stalls, and after a dropped connection", async function () {
    receiver.reply = () => "stall";
    const stalled = await client({ allowList: ALLOW_LOCALHOST, timeoutMs: 200 }).post(receiver.url, "{}", headers);
    expect(stalled).to.include({ ok: false, error: "no complete response within 200 ms" });
    receiver.reply = () => "drop";
    const dropped = await client({ allowList: ALLOW_LOCALHOST }).post(receiver.url, "{}", headers);
    expect(dropped.ok).to.equal(false);
    expect(dropped.error).to.match(/socket hang up|ECONNRESET/);
  });

  it("reuses connections: many deliveries to one host share a few sockets", async function () {
    const keepAlive = client({ allowList: ALLOW_LOCALHOST });
    for (let wave = 0; wave < 3; wave++) {
      const results = await Promise.all(Array.from({ length: 20 }, () => keepAlive.post(receiver.url, "{}", headers)));
      expect(results.every((result) => result.ok)).to.equal(true);
    }
    expect(receiver.received).to.have.length(60);
    expect(receiver.connections).to.be.at.most(20);
  });
});

describeEachStore("webhook worker and the address policy", function (store) {
  it("logs a refused connection as a failed attempt and retries it later, never reaching the address", async function () {
    const { db } = store();
    const receiver = await WebhookReceiver.start();
    const worker = new WebhookWorker({
      db,
      views: testViews(),
      logger: silentLogger,
      allowList: [],
      resolve: fakeDns({ "shop.example": ["127.0.0.1"] }),
      random: () => 0.5,
    });
    try {
      const merchant = await newMerchant(db);
      await newEndpoint(db, merchant, receiver.url.replace("127.0.0.1", "shop.example"));
      await newPayment(db, merchant);
      expect(await worker.runOnce()).to.deep.equal({ events: 1, attempts: 1 });
      const [delivery] = await db.selectFrom("webhook_deliveries").selectAll().execute();
      expect(delivery.status).to.equal("pending");
      expect(delivery.last_error).to.equal("refused to connect: shop.example resolves to 127.0.0.1 is loopback");
      expect(receiver.received).to.have.length(0);
    } finally {
      worker.close();
      await receiver.close();
    }
  });
});
