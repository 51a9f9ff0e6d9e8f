import { expect } from "chai";
import fc from "fast-check";
import type { Address, Hex } from "viem";
import type { PaymentEvent } from "../payments/paymentEvents";
import { eventFromData, eventToData, jsonWithBigints } from "./eventData";

const TOKEN = `0x${"22".repeat(20)}` as Address;
const PAYER = `0x${"33".repeat(20)}` as Address;
const TO = `0x${"44".repeat(20)}` as Address;
const TX = `0x${"55".repeat(32)}` as Hex;
/** Beyond what a JSON number (or a uint64) holds: every amount must survive exactly. */
const HUGE = 2n ** 64n + 1n;
const MAX_UINT256 = 2n ** 256n - 1n;
const source = { position: { blockNumber: 41_234_567, logIndex: 3 }, transactionHash: TX };

/** One event of every kind, each integer field a different value beyond 2^64. */
const EVENTS: PaymentEvent[] = [
  { kind: "deposited", ...source, payer: PAYER, token: TOKEN, amount: HUGE, valueUsd: HUGE + 1n, receivedUsd: HUGE + 2n, remainingUsd: HUGE + 3n },
  {
    kind: "completed",
    ...source,
    payer: PAYER,
    token: TOKEN,
    amount: MAX_UINT256,
    valueUsd: HUGE + 4n,
    receivedUsd: HUGE + 5n,
    excessUsd: HUGE + 6n,
    fee: HUGE + 7n,
  },
  { kind: "expired", ...source, token: TOKEN, amount: HUGE + 8n, receivedUsd: HUGE + 9n },
  { kind: "deposit_refunded", ...source, payer: PAYER, to: TO, token: TOKEN, amount: HUGE + 10n },
  { kind: "refunded", ...source, to: TO, token: TOKEN, amount: HUGE + 11n, refundedTotal: HUGE + 12n },
  { kind: "stray_returned", ...source, to: TO, token: TOKEN, amount: HUGE + 13n },
  { kind: "refund_claimable", ...source, account: TO, token: TOKEN, amount: HUGE + 14n },
  { kind: "deposit_address_funded", ...source, token: TOKEN, amount: HUGE + 15n, sender: PAYER, timestamp: 1_750_000_000n },
  { kind: "deposit_address_funded", ...source, transactionHash: null, token: TOKEN, amount: 0n, sender: PAYER, timestamp: null },
  { kind: "settled", to: "paid", confirmed: { number: 41_234_580, timestamp: HUGE + 16n } },
  { kind: "settled", to: "expired", confirmed: { number: 41_234_581, timestamp: 1_750_000_000n } },
  { kind: "checkout_opened" },
  { kind: "transaction_failed", transactionHash: TX, reason: "execution reverted: 12345" },
  { kind: "refund_requested", amount: HUGE + 17n },
  { kind: "refund_abandoned", reason: "1000000000000000000000" },
];

/** Paths of the bigint values in a value. */
function bigintPaths(value: unknown, at = ""): string[] {
  if (typeof value === "bigint") return [at];
  if (value && typeof value === "object") return Object.entries(value).flatMap(([key, field]) => bigintPaths(field, at ? `${at}.${key}` : key));
  return [];
}

describe("eventData", function () {
  EVENTS.forEach((event, i) => {
    it(`round-trips ${event.kind} (${i + 1} of ${EVENTS.length}) exactly, as text and as the object jsonb gives back`, function () {
      const text = eventToData(event);
      expect(eventFromData(text)).to.deep.equal(event);
      expect(eventFromData(JSON.parse(text))).to.deep.equal(event);
    });
  });

  it("covers every kind of payment event", function () {
    expect(new Set(EVENTS.map((event) => event.kind))).to.deep.equal(
      new Set([
        "deposited",
        "completed",
        "expired",
        "deposit_refunded",
        "refunded",
        "stray_returned",
        "refund_claimable",
        "deposit_address_funded",
        "settled",
        "checkout_opened",
        "transaction_failed",
        "refund_requested",
        "refund_abandoned",
      ]),
    );
    expect(
      EVENTS.flatMap((event) => bigintPaths(event)),
      "every amount field of every kind",
    ).to.have.length(22);
  });

  it("stores amounts as decimal strings, never as JSON numbers", function () {
    const stored = JSON.parse(eventToData(EVENTS[1])) as Record<string, unknown>;
    expect(stored.amount).to.equal(MAX_UINT256.toString());
    expect(stored.fee).to.equal((HUGE + 7n).toString());
    expect(stored.position).to.deep.equal({ blockNumber: 41_234_567, logIndex: 3 });
  });

  it("leaves strings of digits outside the amount fields alone", function () {
    const back = eventFromData(eventToData(EVENTS[EVENTS.length - 1]));
    expect(back).to.deep.equal({ kind: "refund_abandoned", reason: "1000000000000000000000" });
  });

  it("round-trips any amounts up to 2^256 - 1 (property)", function () {
    const amount = fc.bigInt({ min: 0n, max: MAX_UINT256 });
    fc.assert(
      fc.property(amount, amount, amount, amount, amount, amount, fc.nat(), fc.nat(2_000), (a, b, c, d, e, f, blockNumber, logIndex) => {
        const events: PaymentEvent[] = [
          {
            kind: "completed",
            position: { blockNumber, logIndex },
            transactionHash: TX,
            payer: PAYER,
            token: TOKEN,
            amount: a,
            valueUsd: b,
            receivedUsd: c,
            excessUsd: d,
            fee: e,
          },
          { kind: "refunded", position: { blockNumber, logIndex }, transactionHash: TX, to: TO, token: TOKEN, amount: f, refundedTotal: a },
          { kind: "settled", to: "failed", confirmed: { number: blockNumber, timestamp: b } },
          { kind: "refund_requested", amount: c },
        ];
        for (const event of events) {
          expect(eventFromData(eventToData(event))).to.deep.equal(event);
          expect(eventFromData(JSON.parse(eventToData(event)))).to.deep.equal(event);
        }
      }),
    );
  });
});

describe("jsonWithBigints", function () {
  it("writes bigints as decimal strings at any depth, and everything else as JSON does", function () {
    const value = { a: 1n, nested: { list: [HUGE, -5n, 0n], n: 7, s: "x", ok: true, none: null }, skipped: undefined };
    expect(jsonWithBigints(value)).to.equal(`{"a":"1","nested":{"list":["${HUGE}","-5","0"],"n":7,"s":"x","ok":true,"none":null}}`);
    expect(jsonWithBigints(MAX_UINT256)).to.equal(`"${MAX_UINT256}"`);
    expect(jsonWithBigints([1n, 2])).to.equal('["1",2]');
  });

  it("writes what JSON.stringify writes when there is no bigint", function () {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(jsonWithBigints(value)).to.equal(JSON.stringify(value));
      }),
    );
  });

  it("throws nothing where JSON.stringify would throw on a bigint", function () {
    expect(() => JSON.stringify({ amount: 1n })).to.throw(TypeError);
    expect(jsonWithBigints({ amount: 1n })).to.equal('{"amount":"1"}');
  });
});
