import { expect } from "chai";
import type { FastifyRequest } from "fastify";
import { idempotentInTransaction } from "../src/api/idempotency";
import { ApiError } from "../src/ledger/apiErrors";
import type { KeyOwner } from "../src/store/merchantStore";
import type { Db } from "../src/store/paymentStore";
import { describeEachStore } from "./support/stores";

/** A POST with an Idempotency-Key, as Fastify hands it to a route. */
const keyedPost = (body: unknown, key = "once") =>
  ({
    headers: { "idempotency-key": key },
    method: "POST",
    url: "/v1/withdrawals",
    body,
    routeOptions: { url: "/v1/withdrawals" },
  }) as unknown as FastifyRequest;

const owner = { merchant: { id: "m_1" }, mode: "test", keyId: "k_1" } as KeyOwner;

describeEachStore("keyed work of several statements (refunds, withdrawals)", (store) => {
  /** Work with an effect (an outbox row) that counts its runs, committed or not. */
  function countedWork() {
    let runs = 0;
    const work = async (db: Db) => {
      runs++;
      await db
        .insertInto("outbox")
        .values({ chain_id: 1, payment_id: `run-${runs}`, type: "balance.withdrawn", data: "{}" })
        .execute();
      return { effect: `run-${runs}` };
    };
    const effects = async () => (await store().db.selectFrom("outbox").select("payment_id").execute()).map((row) => row.payment_id);
    return { work, runs: () => runs, effects };
  }

  it("answers a retry with the stored response before running the work again; another body under the key is refused unrun", async function () {
    const { work, runs, effects } = countedWork();
    const first = await idempotentInTransaction(store().db, owner, keyedPost({ amount: "1" }), 201, work);
    const retry = await idempotentInTransaction(store().db, owner, keyedPost({ amount: "1" }), 201, work);
    expect(first).to.deep.equal({ status: 201, body: { effect: "run-1" }, replayed: false });
    expect(retry).to.deep.equal({ status: 201, body: { effect: "run-1" }, replayed: true });
    const refused = await idempotentInTransaction(store().db, owner, keyedPost({ amount: "2" }), 201, work).catch((error: unknown) => error);
    expect(refused).to.be.instanceOf(ApiError).and.to.include({ statusCode: 400, type: "idempotency_error" });
    expect(runs(), "the work ran for the first request only").to.equal(1);
    expect(await effects()).to.deep.equal(["run-1"]);
  });

  it("gives concurrent duplicates one effect: the commit with the key decides, the others replay it", async function () {
    const { work, effects } = countedWork();
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => idempotentInTransaction(store().db, owner, keyedPost({ amount: "1" }), 201, work)));
    const [effect] = await effects();
    expect(await effects()).to.have.length(1);
    expect(outcomes.filter((outcome) => !outcome.replayed)).to.have.length(1);
    for (const outcome of outcomes) expect(outcome).to.deep.include({ status: 201, body: { effect } });
  });

  it("runs the work each time without a key", async function () {
    const { work, runs } = countedWork();
    const unkeyed = { headers: {}, method: "POST", url: "/v1/withdrawals", body: {} } as unknown as FastifyRequest;
    await idempotentInTransaction(store().db, owner, unkeyed, 201, work);
    await idempotentInTransaction(store().db, owner, unkeyed, 201, work);
    expect(runs()).to.equal(2);
  });
});
