import { expect } from "chai";
import { revokeKey } from "../src/ledger/apiKeyIssuance";
import { signedInSession, useDashboardStack, type DashboardFixture } from "./support/dashboardStack";
import { useLocalChain } from "./support/localChain";
import { newMerchant } from "./support/merchantApiHelpers";
import { call } from "./support/merchantApiStack";

type KeyJson = { id: string; name: string; prefix: string; mode: string; created_at: string; last_used_at: string | null; revoked_at: string | null };

describe("dashboard API keys over HTTP (PostgreSQL, Hardhat)", function () {
  this.timeout(120_000);
  const chain = useLocalChain();
  const dashboardStack = useDashboardStack(chain);
  let stack: DashboardFixture;
  let session: { cookie: string; csrfToken: string };

  beforeEach(async function () {
    stack = dashboardStack();
    session = await signedInSession(stack);
  });

  /** A state-changing request as the dashboard's page sends it: its Origin, the session's cookie and CSRF token. */
  const change = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    call(stack, "POST", path, { body, headers: { cookie: session.cookie, origin: stack.url, "x-openpay-csrf": session.csrfToken, ...headers } });
  const keys = async (): Promise<KeyJson[]> => {
    const answer = await call(stack, "GET", "/dashboard/api/keys", { headers: { cookie: session.cookie } });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    expect(answer.headers.get("cache-control")).to.equal("no-store");
    return answer.body.data;
  };
  const payments = (key: string) => call(stack, "GET", "/v1/payments", { key });

  it("creates a named key shown once, records its last use, and a revoked key stops authenticating at once", async function () {
    const created = await change("/dashboard/api/keys", { name: "  Shop server  " });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(created.headers.get("cache-control")).to.equal("no-store");
    const { key, api_key: record } = created.body as { key: string; api_key: KeyJson };
    expect(key).to.match(/^op_test_[A-Za-z0-9_-]{32}$/);
    expect(record).to.include({ name: "Shop server", prefix: key.slice(0, 12), mode: "test", last_used_at: null, revoked_at: null });

    // Listed by name and prefix, never with the key: nothing shows it again.
    const listed = await keys();
    expect(listed).to.deep.equal([record]);
    expect(JSON.stringify(listed)).to.not.include(key.slice(12));

    // Used against the API: its last use is recorded (after the answer, off the request's path).
    const before = Date.now();
    expect((await payments(key)).status).to.equal(200);
    await stack.context.auth.lastUse.flushed();
    const [used] = await keys();
    expect(used.last_used_at).to.be.a("string");
    expect(Date.parse(used.last_used_at!)).to.be.at.least(before - 1000);

    // Revoked: the very next request is refused, although the API had the key's owner cached.
    expect((await change(`/dashboard/api/keys/${record.id}/revoke`)).status).to.equal(204);
    const refused = await payments(key);
    expect(refused.status).to.equal(401);
    expect(refused.body.error.message).to.equal("unknown or revoked API key");
    const [revoked] = await keys();
    expect(revoked.revoked_at).to.be.a("string");
    // A second revocation changes nothing, and says so.
    const again = await change(`/dashboard/api/keys/${record.id}/revoke`);
    expect(again.status).to.equal(404);
    expect(again.body.error.message).to.equal(`no active API key ${record.id}`);
  });

  it("stops a key revoked by another process (npm run merchant's rule) once the revocation is announced", async function () {
    const { key, api_key: record } = (await change("/dashboard/api/keys", { name: "Worker" })).body as { key: string; api_key: KeyJson };
    expect((await payments(key)).status).to.equal(200);
    // The test listens on the channel as the API does: once it hears the revocation, so has the API's LISTEN
    // session (one NOTIFY reaches every listener when its transaction commits).
    let heardIt: () => void = () => undefined;
    const heard = new Promise<void>((resolve) => {
      heardIt = resolve;
    });
    const stop = await stack.store.listen("openpay_api_keys", (payload) => payload === record.id && heardIt());
    try {
      await revokeKey(stack.store.db, record.id);
      await heard;
    } finally {
      await stop();
    }
    let status = 200;
    // The API's listener runs its handler on its own connection's event: it is not ordered with ours, so the test
    // asks until the API refuses (a bounded number of times, no timer).
    for (let attempt = 0; attempt < 50 && status === 200; attempt++) status = (await payments(key)).status;
    expect(status).to.equal(401);
  });

  it("refuses names it cannot take, naming the field", async function () {
    for (const [name, message] of [
      ["", "name: a name for the key is required"],
      ["   ", "name: a name for the key is required"],
      ["x".repeat(101), "name: at most 100 characters, got 101"],
      ["tab\there", "name: must not contain control characters"],
    ] as const) {
      const answer = await change("/dashboard/api/keys", { name });
      expect(answer.status, name).to.equal(400);
      expect(answer.body.error.message, name).to.include(message);
      expect(answer.body.error.field, name).to.equal("name");
    }
    expect((await change("/dashboard/api/keys", {})).status).to.equal(400);
    expect(await keys()).to.deep.equal([]);
  });

  it("refuses changes without the session's CSRF token or from another origin, and answers 401 without a session", async function () {
    const { key, api_key: record } = (await change("/dashboard/api/keys", { name: "Kept" })).body as { key: string; api_key: KeyJson };
    const forgeries: Array<Record<string, string>> = [{ "x-openpay-csrf": "" }, { "x-openpay-csrf": "wrong" }, { origin: "https://evil.example" }];
    for (const headers of forgeries) {
      const made = await change("/dashboard/api/keys", { name: "Forged" }, headers);
      expect(made.status, JSON.stringify(headers)).to.equal(403);
      const revoked = await change(`/dashboard/api/keys/${record.id}/revoke`, undefined, headers);
      expect(revoked.status, JSON.stringify(headers)).to.equal(403);
    }
    expect((await keys()).map((each) => each.name)).to.deep.equal(["Kept"]);
    expect((await payments(key)).status).to.equal(200);
    expect((await call(stack, "GET", "/dashboard/api/keys")).status).to.equal(401);
  });

  it("answers 404 for another merchant's key, never lists it, and leaves it working", async function () {
    const other = await newMerchant(stack.store.db);
    const [theirs] = await stack.store.db.selectFrom("api_keys").select("id").where("merchant_id", "=", other.merchant.id).execute();
    const answer = await change(`/dashboard/api/keys/${theirs.id}/revoke`);
    expect(answer.status).to.equal(404);
    // The same answer as for a key that does not exist.
    expect(answer.body.error.message).to.equal(`no active API key ${theirs.id}`);
    expect((await change("/dashboard/api/keys/key_0000000000000000/revoke")).body.error.message).to.equal("no active API key key_0000000000000000");
    expect((await payments(other.key)).status).to.equal(200);
    await change("/dashboard/api/keys", { name: "Mine" });
    expect((await keys()).map((each) => each.name)).to.deep.equal(["Mine"]);
  });
});
