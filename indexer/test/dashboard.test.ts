import { createHash } from "node:crypto";
import { expect } from "chai";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { ROTATION_GRACE_MS, SESSION_IDLE_MS, SESSION_RENEW_AFTER_MS } from "../src/ledger/dashboardSessions";
import { MERCHANT_KEY, setSigner, signInMessage, useDashboardStack, type DashboardFixture } from "./support/dashboardStack";
import { hardhatAccountKey } from "../../scripts/stack/hardhatAccounts";
import { INTENT_SIGNER_KEY, useLocalChain } from "./support/localChain";
import { call } from "./support/merchantApiStack";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("dashboard sign-in over HTTP (PostgreSQL, Hardhat)", function () {
  this.timeout(60_000);
  const chain = useLocalChain();
  const dashboardStack = useDashboardStack(chain);
  let stack: DashboardFixture;
  /** This test's merchant's own account (its address is the merchant's). */
  let merchantAccount: PrivateKeyAccount;
  beforeEach(function () {
    stack = dashboardStack();
    merchantAccount = privateKeyToAccount(stack.merchantKey);
  });
  /** This test's merchant's dashboard sessions, as stored. */
  const sessions = () => stack.store.db.selectFrom("dashboard_sessions").where("merchant_id", "=", stack.merchant.id);

  const origin = () => ({ origin: stack.url });
  const sessionIdOf = (headers: Headers) => {
    const cookie = headers.getSetCookie().find((line) => line.startsWith("openpay_dashboard="));
    return cookie?.slice("openpay_dashboard=".length).split(";")[0];
  };

  /** A signed sign-in request for `account`: a fresh nonce, the page's message, the wallet's signature. */
  async function signedBy(account: PrivateKeyAccount) {
    const issued = await call(stack, "GET", "/dashboard/sign-in/nonce");
    expect(issued.status, JSON.stringify(issued.body)).to.equal(200);
    const message = signInMessage(stack.url, account.address, issued.body.nonce);
    return { message, signature: (await account.signMessage({ message })) as Hex };
  }

  async function signIn(account: PrivateKeyAccount, headers: Record<string, string> = {}) {
    const response = await call(stack, "POST", "/dashboard/sign-in", { body: await signedBy(account), headers: { ...origin(), ...headers } });
    return { ...response, id: sessionIdOf(response.headers) };
  }

  const dashboard = (id: string) => call(stack, "GET", "/dashboard", { headers: { cookie: `openpay_dashboard=${id}` } });
  const csrfOf = (html: string) => /<meta name="openpay-csrf" content="([^"]+)">/.exec(html)?.[1];

  it("signs the merchant in with a cookie that is HttpOnly, SameSite=Strict, on /dashboard, short-lived, kept only as a hash", async function () {
    const response = await signIn(merchantAccount);
    expect(response.status, JSON.stringify(response.body)).to.equal(200);
    expect(response.body).to.deep.equal({
      merchant: { id: stack.merchant.id, name: "Demo shop", address: stack.merchant.address },
      address: merchantAccount.address,
      role: "merchant",
    });
    const [cookie] = response.headers.getSetCookie();
    expect(cookie).to.match(/^openpay_dashboard=[A-Za-z0-9_-]{43}; Path=\/dashboard; HttpOnly; SameSite=Strict; Max-Age=(1799|1800)$/);
    // http on 127.0.0.1 (npm start): not Secure, else the browser would never send it back; https gets Secure (sessionCookie.test.ts).
    expect(cookie).to.not.match(/Secure/);
    const rows = await sessions().select(["id_hash", "csrf_token"]).execute();
    expect(rows.map((row) => row.id_hash)).to.deep.equal([sha256(response.id!)]);

    const page = await dashboard(response.id!);
    expect(page.status).to.equal(200);
    expect(page.headers.get("content-security-policy")).to.match(/default-src 'none'; script-src 'self'.*frame-ancestors 'none'/);
    expect(page.body).to.include("Demo shop").and.include(stack.merchant.address).and.include('id="sign-out"');
    expect(csrfOf(page.body)).to.equal(rows[0].csrf_token);
  });

  it("refuses a replayed message, a message for another domain, a forged signature, and a sign-in posted by another site", async function () {
    const signed = await signedBy(merchantAccount);
    expect((await call(stack, "POST", "/dashboard/sign-in", { body: signed, headers: origin() })).status).to.equal(200);
    const replay = await call(stack, "POST", "/dashboard/sign-in", { body: signed, headers: origin() });
    expect(replay.status).to.equal(401);
    expect(replay.body.error.message).to.match(/nonce was used already/);

    const nonce = (await call(stack, "GET", "/dashboard/sign-in/nonce")).body.nonce;
    const message = signInMessage("http://localhost:9999", merchantAccount.address, nonce);
    const elsewhere = await call(stack, "POST", "/dashboard/sign-in", {
      body: { message, signature: await merchantAccount.signMessage({ message }) },
      headers: origin(),
    });
    expect(elsewhere.status).to.equal(401);
    expect(elsewhere.body.error.message).to.equal(`the message is for domain localhost:9999, this gateway is ${new URL(stack.url).host}`);

    // A signature by another key: checked locally, then on chain as a contract wallet's would be, and refused.
    const forged = await signedBy(merchantAccount);
    forged.signature = await privateKeyToAccount(generatePrivateKey()).signMessage({ message: forged.message });
    const badSignature = await call(stack, "POST", "/dashboard/sign-in", { body: forged, headers: origin() });
    expect(badSignature.status).to.equal(401);
    expect(badSignature.body.error).to.deep.equal({
      type: "authentication_error",
      message: `the signature is not ${merchantAccount.address}'s signature of this message`,
      field: "signature",
    });

    const crossSite = await call(stack, "POST", "/dashboard/sign-in", { body: await signedBy(merchantAccount), headers: { origin: "https://evil.example" } });
    expect(crossSite.status).to.equal(403);
    expect(crossSite.body.error.message).to.match(/not from https:\/\/evil\.example/);
  });

  it("refuses a state-changing request without the session's CSRF token or from another origin, and signs out with it", async function () {
    const { id } = await signIn(merchantAccount);
    const csrf = csrfOf((await dashboard(id!)).body)!;
    const cookie = `openpay_dashboard=${id}`;

    const noToken = await call(stack, "POST", "/dashboard/sign-out", { headers: { cookie, ...origin() } });
    expect(noToken.status).to.equal(403);
    expect(noToken.body.error.field).to.equal("x-openpay-csrf");
    const wrongToken = await call(stack, "POST", "/dashboard/sign-out", { headers: { cookie, ...origin(), "x-openpay-csrf": `${csrf.slice(0, -1)}x` } });
    expect(wrongToken.status).to.equal(403);
    const otherOrigin = await call(stack, "POST", "/dashboard/sign-out", { headers: { cookie, origin: "https://evil.example", "x-openpay-csrf": csrf } });
    expect(otherOrigin.status).to.equal(403);
    expect(otherOrigin.body.error.field).to.equal("Origin");
    expect((await dashboard(id!)).body).to.include('id="sign-out"');

    const out = await call(stack, "POST", "/dashboard/sign-out", { headers: { cookie, ...origin(), "x-openpay-csrf": csrf } });
    expect(out.status).to.equal(204);
    expect(out.headers.getSetCookie()).to.deep.equal(["openpay_dashboard=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0"]);
    expect(await sessions().selectAll().execute()).to.deep.equal([]);
    const after = await dashboard(id!);
    expect(after.body).to.include('id="sign-in"').and.include("Your session ended").and.not.include("Demo shop");
  });

  it("never promotes a session id presented before the sign-in (no fixation)", async function () {
    const planted = "planted-by-an-attacker-0123456789abcdefghijk";
    const response = await signIn(merchantAccount, { cookie: `openpay_dashboard=${planted}` });
    expect(response.status).to.equal(200);
    expect(response.id).to.not.equal(planted);
    expect((await dashboard(planted)).body).to.include('id="sign-in"');
    expect((await dashboard(response.id!)).body).to.include('id="sign-out"');

    // Signing in again over a live session replaces it: the old id signs nobody in.
    const again = await signIn(merchantAccount, { cookie: `openpay_dashboard=${response.id}` });
    expect(again.id).to.not.equal(response.id);
    expect((await dashboard(response.id!)).body).to.include('id="sign-in"');
    expect(await sessions().select("id_hash").execute()).to.deep.equal([{ id_hash: sha256(again.id!) }]);
  });

  it("renews a session under a new id, keeps the old one for a moment, and ends an idle one", async function () {
    const { id } = await signIn(merchantAccount);
    stack.advance(SESSION_RENEW_AFTER_MS + 1000);
    const renewed = await dashboard(id!);
    const newId = sessionIdOf(renewed.headers);
    expect(newId).to.be.a("string").and.not.equal(id);
    expect((await dashboard(id!)).body, "the old id within its grace").to.include('id="sign-out"');
    stack.advance(ROTATION_GRACE_MS + 1000);
    expect((await dashboard(id!)).body, "the old id after its grace").to.include('id="sign-in"');
    expect((await dashboard(newId!)).body).to.include('id="sign-out"');
    stack.advance(SESSION_IDLE_MS + 1000);
    expect((await dashboard(newId!)).body, "idle too long").to.include('id="sign-in"');
  });

  it("signs in an authorised signer, and ends its session once the merchant revokes it on the escrow", async function () {
    const signer = privateKeyToAccount(generatePrivateKey());
    const unauthorised = await signIn(signer);
    expect(unauthorised.status).to.equal(403);
    expect(unauthorised.body.error.message).to.match(/is neither a merchant of this gateway nor an authorised signer/);

    await setSigner(chain(), signer.address, true, stack.merchantKey);
    const { status, body, id } = await signIn(signer);
    expect(status, JSON.stringify(body)).to.equal(200);
    expect(body.role).to.equal("signer");
    expect((await dashboard(id!)).body).to.include("an authorised signer");

    await setSigner(chain(), signer.address, false, stack.merchantKey);
    const after = await dashboard(id!);
    expect(after.body).to.include(`${signer.address} is no longer an authorised signer of Demo shop`).and.not.include('id="sign-out"');
    expect(after.headers.getSetCookie()[0]).to.match(/^openpay_dashboard=; .*Max-Age=0/);
    expect(await sessions().selectAll().execute()).to.deep.equal([]);
  });

  it("refuses the gateway's own intent signer, though every merchant authorised it", async function () {
    const response = await signIn(privateKeyToAccount(INTENT_SIGNER_KEY));
    expect(response.status).to.equal(403);
    expect(response.body.error.message).to.match(/is this gateway's intent signer/);
  });

  describe("one-click demo sign-in (npm start's local chain)", function () {
    /** Another dashboard over the store, with the demo sign-in as `address`; its merchant is the demo merchant (account 3). */
    async function withDemoSignIn(address: Address) {
      stack = await dashboardStack().withDemoSignIn(address);
    }
    const demoSignIn = (headers: Record<string, string> = origin()) => call(stack, "POST", "/dashboard/sign-in/demo", { headers });

    it("signs the demo merchant in with one request: the node signs the page's message, checked as a wallet's", async function () {
      const demoAccount = privateKeyToAccount(MERCHANT_KEY);
      await withDemoSignIn(demoAccount.address);
      const page = await call(stack, "GET", "/dashboard");
      expect(page.body).to.include('id="demo-sign-in"').and.include(demoAccount.address);

      const allNonces = () => stack.store.db.selectFrom("dashboard_nonces").selectAll().execute();
      const earlier = new Set((await allNonces()).map((row) => row.nonce));
      const response = await demoSignIn();
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      expect(response.body).to.deep.equal({
        merchant: { id: stack.merchant.id, name: "Demo shop", address: stack.merchant.address },
        address: demoAccount.address,
        role: "merchant",
      });
      expect((await dashboard(sessionIdOf(response.headers)!)).body).to.include('id="sign-out"');
      // Through the nonces as a wallet's sign-in: one issued, and spent.
      const nonces = (await allNonces()).filter((row) => !earlier.has(row.nonce));
      expect(nonces).to.have.length(1);
      expect(nonces[0].used_at).to.be.an.instanceOf(Date);

      // Login CSRF: another site cannot sign a browser in to the demo merchant either.
      const crossSite = await demoSignIn({ origin: "https://evil.example" });
      expect(crossSite.status).to.equal(403);
      expect(crossSite.body.error.message).to.match(/not from https:\/\/evil\.example/);
    });

    it("refuses the demo account by the same rules as a wallet's, and an account the node does not hold", async function () {
      const stranger = privateKeyToAccount(hardhatAccountKey(7)).address;
      await withDemoSignIn(stranger);
      const response = await demoSignIn();
      expect(response.status).to.equal(403);
      expect(response.body.error.message).to.match(new RegExp(`^${stranger} is neither a merchant of this gateway nor an authorised signer`));
      expect(response.headers.getSetCookie()).to.deep.equal([]);

      // An account the node does not hold: nothing signed, and the answer says where to look.
      const unheld = privateKeyToAccount(generatePrivateKey()).address;
      await withDemoSignIn(unheld);
      const unsigned = await demoSignIn();
      expect(unsigned.status).to.equal(503);
      expect(unsigned.body.error.message).to.equal(
        `the local chain's node did not sign as ${unheld} (Unknown account ${unheld}): is it the chain npm start runs?`,
      );
    });

    it("is off unless the gateway is started with it: a 404 saying so, and no button", async function () {
      const response = await demoSignIn();
      expect(response.status).to.equal(404);
      expect(response.body.error).to.deep.include({
        type: "not_found_error",
        message: "the one-click demo sign-in is off: npm start offers it on the local chain it starts (DASHBOARD_DEMO_SIGN_IN)",
      });
      expect(response.headers.getSetCookie()).to.deep.equal([]);
      expect((await call(stack, "GET", "/dashboard")).body)
        .to.include('id="sign-in"')
        .and.not.include("demo-sign-in");
    });
  });
});
