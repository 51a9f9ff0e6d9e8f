import { expect } from "chai";
import { isKeyTaken, readStoredResponse, rememberedRow, rememberResponse, type IdempotentRequest } from "../src/store/idempotencyStore";
import { describeEachStore } from "./support/stores";
import { sql } from "kysely";

/** A key's claim with its response as a CTE, as insertApiPayment writes it. */
function claimCte(key: IdempotentRequest, response: unknown) {
  const row = rememberedRow({ request: key, status: 201, response });
  return sql`claim as (insert into idempotency_keys (${sql.raw(Object.keys(row).join(", "))}) values (${sql.join(Object.values(row))}))`;
}

const request = (key: string, requestHash = "h1"): IdempotentRequest => ({
  merchantId: "m_1",
  mode: "test",
  key,
  method: "POST",
  path: "/v1/payments",
  requestHash,
});

/** The key's rows and when each was written. */
async function keyRows(store: ReturnType<Parameters<Parameters<typeof describeEachStore>[1]>[0]>, key: string) {
  return store.db.selectFrom("idempotency_keys").select(["request_hash", "response_status", "created_at"]).where("key", "=", key).execute();
}

describeEachStore("idempotency keys", (store) => {
  it("a key claimed with its response in the work's statement fails that statement whole when the key is taken", async function () {
    const write = (hash: string, marker: string) =>
      sql`with ${claimCte(request("k", hash), { id: marker })}
        insert into outbox (chain_id, payment_id, type, data) values (1, ${marker}, 'payment.created', '{}')`.execute(store().db);
    await write("h1", "first");
    const error = await write("h2", "second").then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(isKeyTaken(error), String(error)).to.equal(true);
    // Nothing of the second statement was written; the first's response is the key's.
    const outbox = await store().db.selectFrom("outbox").select("payment_id").execute();
    expect(outbox.map((row) => row.payment_id)).to.deep.equal(["first"]);
    expect(await readStoredResponse(store().db, request("k"))).to.deep.equal({
      method: "POST",
      path: "/v1/payments",
      requestHash: "h1",
      status: 201,
      response: { id: "first" },
    });
    expect(isKeyTaken(new Error("other"))).to.equal(false);
  });

  it("reading a key older than 24 hours forgets it", async function () {
    await sql`with ${claimCte(request("old"), {})} select 1`.execute(store().db);
    await store()
      .db.updateTable("idempotency_keys")
      .set({ created_at: new Date(Date.now() - 25 * 60 * 60 * 1000) })
      .execute();
    expect(await readStoredResponse(store().db, request("old"))).to.equal(undefined);
    expect(await keyRows(store(), "old")).to.have.length(0);
  });

  it("a key remembered last in the work's transaction rolls the work back when the key is taken", async function () {
    const db = store().db;
    const work = (hash: string, marker: string) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto("outbox").values({ chain_id: 1, payment_id: marker, type: "payment.created", data: "{}" }).execute();
        await rememberResponse(trx, { request: request("t", hash), status: 201, response: { id: marker } });
      });
    await work("h1", "first");
    const error = await work("h2", "second").then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(isKeyTaken(error), String(error)).to.equal(true);
    const outbox = await db.selectFrom("outbox").select("payment_id").execute();
    expect(outbox.map((row) => row.payment_id)).to.deep.equal(["first"]);
    expect(await readStoredResponse(db, request("t"))).to.deep.include({ requestHash: "h1", status: 201, response: { id: "first" } });
    const [row] = await keyRows(store(), "t");
    expect(row).to.include({ request_hash: "h1", response_status: 201 });
  });
});
