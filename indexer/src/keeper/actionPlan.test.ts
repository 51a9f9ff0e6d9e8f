import { expect } from "chai";
import { zeroAddress, type Address, type Hex } from "viem";
import { newPayment, type Payment } from "../payments/payment";
import { arrivals, depositAddressRefunds, planActions, planFor, sendersOf, subjectOf, type DepositTransfer, type KeeperView } from "./actionPlan";

const ID = `0x${"11".repeat(32)}` as Hex;
const USDT = `0x${"22".repeat(20)}` as Address;
const USDC = `0x${"23".repeat(20)}` as Address;
/** A token the escrow may know but the payment's intent does not accept. */
const DAI = `0x${"24".repeat(20)}` as Address;
const SENDER = `0x${"33".repeat(20)}` as Address;
const OTHER = `0x${"34".repeat(20)}` as Address;
const THIRD = `0x${"35".repeat(20)}` as Address;
const REFUND = `0x${"44".repeat(20)}` as Address;
const DEPOSIT = `0x${"55".repeat(20)}` as Address;
const EXPIRY = 10_000n;
const WINDOW = 3_600n;

function view(overrides: Partial<KeeperView> = {}, payment: Partial<Payment> = {}): KeeperView {
  return {
    payment: { ...newPayment({ id: ID, amountUsd: 100n, expiry: EXPIRY, depositAddress: DEPOSIT, acceptedTokens: [USDT, USDC, zeroAddress] }), ...payment },
    expiry: EXPIRY,
    refundTo: zeroAddress,
    depositAddress: DEPOSIT,
    holdings: [],
    transfers: [],
    deposits: new Map(),
    collectedFromDepositAddress: new Map(),
    refundedFromDepositAddress: new Map(),
    returnedStrays: new Map(),
    ...overrides,
  };
}

/** Recorded deposits not refunded yet, by token then payer. */
const deposits = (...entries: Array<[Address, Address, bigint]>) => {
  const byToken = new Map<Address, Map<Address, bigint>>();
  for (const [token, payer, amount] of entries) byToken.set(token, (byToken.get(token) ?? new Map()).set(payer, amount));
  return byToken;
};
/** What was collected from the deposit address, by token. */
const collected = (...entries: Array<[Address, bigint]>) => new Map(entries);
/** What was sent back of the deposit address's deposits, by token then receiver. */
const refundedFrom = (...entries: Array<[Address, Address, bigint]>) => deposits(...entries);
const key = (address: Address) => address.toLowerCase();

const kinds = (v: KeeperView, now: bigint) => planActions(v, now, WINDOW).map((action) => action.kind);
/** A transfer in the block at `timestamp` (by default in time, a minute before the expiry). */
const sent = (sender: Address, amount: bigint, token: Address = USDT, timestamp: bigint | null = EXPIRY - 60n): DepositTransfer => ({
  token,
  sender,
  amount,
  timestamp,
});

describe("the keeper's action plan", () => {
  it("does nothing for a payment with nothing at its deposit address", () => {
    expect(planActions(view(), EXPIRY - 1n, WINDOW)).to.deep.equal([]);
  });

  it("collects what waits at an open payment's deposit address until the late-collect window closes", () => {
    const funded = view({ holdings: [{ token: USDT, amount: 5n }], transfers: [sent(SENDER, 5n)] });
    expect(planActions(funded, EXPIRY, WINDOW)).to.deep.equal([{ kind: "collect", paymentId: ID, token: USDT, stateKey: `${USDT.toLowerCase()}:5:0` }]);
    expect(kinds(funded, EXPIRY + WINDOW)).to.deep.equal(["collect"]);
    expect(planActions(funded, EXPIRY + WINDOW + 1n, WINDOW)).to.deep.equal([
      { kind: "returnStray", paymentId: ID, token: USDT, to: SENDER, stateKey: `${USDT.toLowerCase()}:5:1:0` },
    ]);
  });

  it("names a new state when more arrives, so a top-up is collected too", () => {
    const first = planActions(view({ holdings: [{ token: USDT, amount: 5n }] }), 1n, WINDOW)[0];
    const second = planActions(view({ holdings: [{ token: USDT, amount: 7n }] }), 1n, WINDOW)[0];
    expect(first.stateKey).to.not.equal(second.stateKey);
  });

  it("names a new state when the same amount arrives again after a collect, so an equal top-up is collected too", () => {
    const first = planActions(view({ holdings: [{ token: USDT, amount: 5n }] }), 1n, WINDOW)[0];
    const again = view({ holdings: [{ token: USDT, amount: 5n }] }, { status: "pending", token: USDT, paidAmount: 5n, receivedUsd: 5n });
    expect(planActions(again, 1n, WINDOW)).to.deep.equal([{ kind: "collect", paymentId: ID, token: USDT, stateKey: `${USDT.toLowerCase()}:5:5` }]);
    expect(planActions(again, 1n, WINDOW)[0].stateKey).to.not.equal(first.stateKey);
  });

  it("returns a token the intent does not accept, to the refund address when the intent names one", () => {
    const mixed = view(
      { holdings: [{ token: DAI, amount: 9n }], refundTo: REFUND, transfers: [sent(SENDER, 9n, DAI)] },
      { status: "pending", token: USDT, receivedUsd: 1n },
    );
    expect(planActions(mixed, 1n, WINDOW)).to.deep.equal([{ kind: "returnStray", paymentId: ID, token: DAI, to: REFUND, stateKey: `${key(DAI)}:9:1:0` }]);
    // BNB at a payment whose intent takes only the stablecoins: a stray too, however early.
    const bnb = view({ holdings: [{ token: zeroAddress, amount: 4n }], refundTo: REFUND }, { acceptedTokens: [USDT, USDC] });
    expect(planActions(bnb, 1n, WINDOW)).to.deep.equal([
      { kind: "returnStray", paymentId: ID, token: zeroAddress, to: REFUND, stateKey: `${zeroAddress}:4:0:0` },
    ]);
  });

  it("leaves BNB without a sender or refund address to the operator", () => {
    expect(planActions(view({ holdings: [{ token: zeroAddress, amount: 1n }] }, { status: "paid" }), 1n, WINDOW)).to.deep.equal([]);
  });

  it("expires a payment holding deposits once its time is up, unless a deposit is still being collected", () => {
    const partly = view({ deposits: deposits([USDT, SENDER, 40n]) }, { status: "pending", receivedUsd: 40n, token: USDT, paidAmount: 40n });
    expect(kinds(partly, EXPIRY)).to.deep.equal([]);
    expect(planActions(partly, EXPIRY + 1n, WINDOW)).to.deep.equal([
      { kind: "expire", paymentId: ID, token: USDT, payers: [SENDER], stateKey: `expire:${key(USDT)}:40` },
    ]);
    const collecting = { ...partly, holdings: [{ token: USDT, amount: 3n }], transfers: [sent(SENDER, 3n)] };
    expect(kinds(collecting, EXPIRY + 1n)).to.deep.equal(["collect"]);
  });

  it("within the late-collect window collects only what reached the deposit address by the expiry", () => {
    // In the block at the expiry: in time (the escrow refuses deposits only after it).
    const inTime = view({ holdings: [{ token: USDT, amount: 5n }], transfers: [sent(SENDER, 5n, USDT, EXPIRY)] });
    expect(kinds(inTime, EXPIRY + 1n)).to.deep.equal(["collect"]);
    expect(kinds(inTime, EXPIRY + WINDOW)).to.deep.equal(["collect"]);
    // A second before the window closes, a transfer that came a second after the expiry is a stray, back to its sender.
    const late = view({ holdings: [{ token: USDT, amount: 5n }], transfers: [sent(SENDER, 5n, USDT, EXPIRY + 1n)] });
    expect(planFor(late, EXPIRY + WINDOW, WINDOW)).to.deep.equal({
      actions: [{ kind: "returnStray", paymentId: ID, token: USDT, to: SENDER, stateKey: `${USDT.toLowerCase()}:5:1:0` }],
      leftToOperator: [],
    });
    // Before the expiry, anything waiting is collected (it is there in time).
    expect(kinds(late, EXPIRY)).to.deep.equal(["collect"]);
    // A late stray next to deposits: returned, and the payment expired.
    const partlyPaid = view(
      { holdings: late.holdings, transfers: late.transfers, deposits: deposits([USDT, OTHER, 2n]) },
      { status: "pending", token: USDT, receivedUsd: 40n, paidAmount: 2n },
    );
    expect(kinds(partlyPaid, EXPIRY + 1n)).to.deep.equal(["returnStray", "expire"]);
  });

  it("tells how much of what waits arrived by the expiry: the last units of the transfers, each dated by its block", () => {
    const transfers = [sent(SENDER, 6n, USDT, EXPIRY - 5n), sent(OTHER, 3n, USDT, EXPIRY + 5n), sent(THIRD, 7n, USDC, EXPIRY + 9n)];
    const at = (amount: bigint, token: Address = USDT) => arrivals(view({ transfers }), token, amount);
    expect(at(9n)).to.deep.equal({ onTime: 6n, late: 3n });
    // 4 of the 6 were collected before the 3 came (every collect takes all): 2 + 3 wait.
    expect(at(5n)).to.deep.equal({ onTime: 2n, late: 3n });
    expect(at(3n)).to.deep.equal({ onTime: 0n, late: 3n });
    expect(at(7n, USDC)).to.deep.equal({ onTime: 0n, late: 7n });
    // More waits than the transfers brought, or a transfer not dated yet: it cannot be told.
    expect(at(10n)).to.equal(undefined);
    expect(arrivals(view({ transfers: [sent(SENDER, 4n, USDT, null)] }), USDT, 4n)).to.equal(undefined);
    // BNB, from the balance rises the indexer saw, each dated by the block it read it at.
    const bnb = (amount: bigint, ...rises: Array<[bigint, bigint | null]>) =>
      arrivals(view({ transfers: rises.map(([units, at]) => sent(zeroAddress, units, zeroAddress, at)) }), zeroAddress, amount);
    expect(bnb(5n, [5n, EXPIRY])).to.deep.equal({ onTime: 5n, late: 0n });
    expect(bnb(8n, [5n, EXPIRY], [3n, EXPIRY + 1n])).to.deep.equal({ onTime: 5n, late: 3n });
    // Collected before the late 3 came (every collect takes all): only they wait.
    expect(bnb(3n, [5n, EXPIRY], [3n, EXPIRY + 1n])).to.deep.equal({ onTime: 0n, late: 3n });
    expect(bnb(5n)).to.equal(undefined);
    // A rise the indexer could not date (its block's state was pruned): what waits of it cannot be told.
    expect(bnb(5n, [5n, null])).to.equal(undefined);
  });

  it("leaves on-time and late funds waiting together to the operator within the window, and does not expire meanwhile", () => {
    const mixed = view(
      {
        holdings: [{ token: USDT, amount: 8n }],
        transfers: [sent(SENDER, 5n, USDT, EXPIRY - 1n), sent(SENDER, 3n, USDT, EXPIRY + 1n)],
        deposits: deposits([USDT, OTHER, 2n]),
      },
      { status: "pending", token: USDT, receivedUsd: 40n, paidAmount: 2n },
    );
    expect(planFor(mixed, EXPIRY + 2n, WINDOW)).to.deep.equal({
      actions: [],
      leftToOperator: [{ paymentId: ID, token: USDT, amount: 8n, reason: "late_and_on_time", stateKey: `${USDT.toLowerCase()}:8:2` }],
    });
    // Once the window has closed, all of it is a stray (one sender: back to it), and the payment is expired.
    expect(kinds(mixed, EXPIRY + WINDOW + 1n)).to.deep.equal(["returnStray", "expire"]);
    // BNB the indexer could not date (its block's state was pruned): not collected, not expired.
    const unknown = view(
      { holdings: [{ token: zeroAddress, amount: 4n }], transfers: [sent(zeroAddress, 4n, zeroAddress, null)] },
      { status: "pending", token: zeroAddress, receivedUsd: 40n },
    );
    expect(planFor(unknown, EXPIRY + 2n, WINDOW).leftToOperator).to.deep.equal([
      { paymentId: ID, token: zeroAddress, amount: 4n, reason: "arrival_unknown", stateKey: `${zeroAddress}:4:0` },
    ]);
    expect(kinds({ ...unknown, transfers: [sent(zeroAddress, 4n, zeroAddress, EXPIRY - 1n)] }, EXPIRY + 2n)).to.deep.equal(["collect"]);
  });

  it("says why it leaves a stray or a refund to the operator", () => {
    const paid = { status: "paid" as const, token: USDT, paidAmount: 100n };
    const reasons = (v: KeeperView) => planFor(v, 1n, WINDOW).leftToOperator.map(({ reason, token, amount }) => ({ reason, token, amount }));
    expect(reasons(view({ holdings: [{ token: USDT, amount: 9n }], transfers: [sent(SENDER, 100n), sent(SENDER, 5n), sent(OTHER, 4n)] }, paid))).to.deep.equal([
      { reason: "several_senders", token: USDT, amount: 9n },
    ]);
    expect(reasons(view({ holdings: [{ token: USDT, amount: 9n }], transfers: [sent(SENDER, 5n)] }, paid))).to.deep.equal([
      { reason: "unknown_sender", token: USDT, amount: 9n },
    ]);
    expect(reasons(view({ holdings: [{ token: USDT, amount: 2n }], transfers: [sent(zeroAddress, 2n)] }, paid))).to.deep.equal([
      { reason: "unknown_sender", token: USDT, amount: 2n },
    ]);
    expect(reasons(view({ holdings: [{ token: zeroAddress, amount: 1n }] }, paid))).to.deep.equal([
      { reason: "bnb_without_refund_address", token: zeroAddress, amount: 1n },
    ]);
    // An expired BNB payment collected from its deposit address: no transfer names who sent it.
    const bnbExpired = view({ collectedFromDepositAddress: collected([zeroAddress, 7n]) }, { status: "expired", token: zeroAddress });
    expect(planFor(bnbExpired, EXPIRY + 1n, WINDOW)).to.deep.equal({
      actions: [],
      leftToOperator: [{ paymentId: ID, token: zeroAddress, amount: 7n, reason: "bnb_without_refund_address", stateKey: `refund:${zeroAddress}:7:0` }],
    });
    // Collected units beyond what the recorded transfers explain: their senders refunded, the rest named.
    const short = view({ collectedFromDepositAddress: collected([USDT, 9n]), transfers: [sent(SENDER, 4n)] }, { status: "expired", token: USDT });
    expect(planFor(short, EXPIRY + 1n, WINDOW).leftToOperator).to.deep.equal([
      { paymentId: ID, token: USDT, amount: 5n, reason: "unknown_sender", stateKey: `refund:${key(USDT)}:9:0` },
    ]);
  });

  it("sends an expired payment's deposit-address deposits back to whoever sent them", () => {
    const expired = view({ collectedFromDepositAddress: collected([USDT, 12n]), transfers: [sent(SENDER, 12n)] }, { status: "expired", token: USDT });
    expect(planActions(expired, EXPIRY + 1n, WINDOW)).to.deep.equal([
      { kind: "refundDepositAddress", paymentId: ID, token: USDT, to: SENDER, amount: 12n, stateKey: `refund:${key(USDT)}:${key(SENDER)}:0` },
    ]);
    // With a refund address in the intent, expire() sent them there already.
    expect(kinds({ ...expired, refundTo: REFUND }, EXPIRY + 1n)).to.deep.equal([]);
  });

  it("refunds each sender of an expired payment's deposit address what it sent, not all to the first", () => {
    const expired = view(
      { collectedFromDepositAddress: collected([USDT, 9n]), transfers: [sent(SENDER, 6n), sent(OTHER, 3n)] },
      { status: "expired", token: USDT },
    );
    expect(planActions(expired, EXPIRY + 1n, WINDOW)).to.deep.equal([
      { kind: "refundDepositAddress", paymentId: ID, token: USDT, to: SENDER, amount: 6n, stateKey: `refund:${key(USDT)}:${key(SENDER)}:0` },
      { kind: "refundDepositAddress", paymentId: ID, token: USDT, to: OTHER, amount: 3n, stateKey: `refund:${key(USDT)}:${key(OTHER)}:0` },
    ]);
    // A sender's several transfers add up; transfers in another token are not part of it.
    const repeated = view(
      { collectedFromDepositAddress: collected([USDT, 9n]), transfers: [sent(SENDER, 2n), sent(OTHER, 3n), sent(THIRD, 8n, USDC), sent(SENDER, 4n)] },
      { status: "expired", token: USDT },
    );
    expect(depositAddressRefunds(repeated, USDT)).to.deep.equal([
      { to: SENDER, amount: 6n, refundedBefore: 0n },
      { to: OTHER, amount: 3n, refundedBefore: 0n },
    ]);
  });

  it("refunds only what the escrow collected and still holds, first transfers first, and never a sender twice for one state", () => {
    // 6 from SENDER and 3 from OTHER were collected; OTHER's later 5 came after the window and was never collected
    // (a stray, returned by returnStray): the escrow holds 9.
    const transfers = [sent(SENDER, 6n), sent(OTHER, 3n), sent(OTHER, 5n)];
    const expired = { transfers, collectedFromDepositAddress: collected([USDT, 9n]) };
    expect(depositAddressRefunds(view(expired, { status: "expired", token: USDT }), USDT)).to.deep.equal([
      { to: SENDER, amount: 6n, refundedBefore: 0n },
      { to: OTHER, amount: 3n, refundedBefore: 0n },
    ]);
    // SENDER's refund is on chain: only OTHER's is due, and SENDER's next key would be another state.
    const afterFirst = view({ ...expired, refundedFromDepositAddress: refundedFrom([USDT, SENDER, 6n]) }, { status: "expired", token: USDT });
    expect(planActions(afterFirst, EXPIRY + 1n, WINDOW)).to.deep.equal([
      { kind: "refundDepositAddress", paymentId: ID, token: USDT, to: OTHER, amount: 3n, stateKey: `refund:${key(USDT)}:${key(OTHER)}:0` },
    ]);
    // Someone else was sent 4 of it (the operator by hand): what is held runs out in the order of the first transfers.
    const short = view({ ...expired, refundedFromDepositAddress: refundedFrom([USDT, REFUND, 4n]) }, { status: "expired", token: USDT });
    expect(depositAddressRefunds(short, USDT)).to.deep.equal([{ to: SENDER, amount: 5n, refundedBefore: 0n }]);
    // What was sent back in another token is not part of it.
    const otherToken = view({ ...expired, refundedFromDepositAddress: refundedFrom([USDC, SENDER, 6n]) }, { status: "expired", token: USDT });
    expect(depositAddressRefunds(otherToken, USDT)).to.deep.equal(depositAddressRefunds(view(expired, { status: "expired", token: USDT }), USDT));
    // Nothing held, nothing sent; a collect no recorded transfer explains is left to the operator.
    expect(depositAddressRefunds(view({ transfers }, { status: "expired", token: USDT }), USDT)).to.deep.equal([]);
    expect(
      depositAddressRefunds(
        view({ collectedFromDepositAddress: collected([USDT, 9n]), transfers: [sent(SENDER, 4n)] }, { status: "expired", token: USDT }),
        USDT,
      ),
    ).to.deep.equal([{ to: SENDER, amount: 4n, refundedBefore: 0n }]);
  });

  it("attributes stretches of a deposit address's transfers to their senders", () => {
    const transfers = [sent(SENDER, 6n), sent(OTHER, 3n), sent(SENDER, 1n)];
    expect(sendersOf(transfers, 0n, 10n)).to.deep.equal({
      shares: new Map([
        [SENDER, 7n],
        [OTHER, 3n],
      ]),
      covered: 10n,
    });
    expect(sendersOf(transfers, 5n, 8n)).to.deep.equal({
      shares: new Map([
        [SENDER, 1n],
        [OTHER, 2n],
      ]),
      covered: 3n,
    });
    expect(sendersOf(transfers, -2n, 3n)).to.deep.equal({ shares: new Map([[SENDER, 3n]]), covered: 3n });
    expect(sendersOf([sent(zeroAddress, 4n)], 0n, 4n)).to.deep.equal({ shares: new Map(), covered: 0n });
  });

  it("returns a second stray of the same amount too, and keeps the key of one on its way", () => {
    const paid = { status: "paid" as const, token: USDT, paidAmount: 100n };
    const first = view({ holdings: [{ token: USDT, amount: 5n }], transfers: [sent(SENDER, 100n), sent(SENDER, 5n)] }, paid);
    const [returned] = planActions(first, 1n, WINDOW);
    expect(returned).to.include({ kind: "returnStray", to: SENDER });
    // Not mined yet: same holdings, same transfers, same key.
    expect(planActions(first, 2n, WINDOW)[0].stateKey).to.equal(returned.stateKey);
    // Returned, then the same amount again.
    const second = view(
      { holdings: [{ token: USDT, amount: 5n }], transfers: [sent(SENDER, 100n), sent(SENDER, 5n), sent(SENDER, 5n)], returnedStrays: new Map([[USDT, 5n]]) },
      paid,
    );
    expect(planActions(second, 3n, WINDOW)[0]).to.include({ kind: "returnStray", to: SENDER });
    expect(planActions(second, 3n, WINDOW)[0].stateKey).to.not.equal(returned.stateKey);
    // BNB leaves no transfer log: with a refund address, what was returned before tells two equal strays apart.
    const bnb = (returned: bigint) =>
      planActions(
        view({ holdings: [{ token: zeroAddress, amount: 5n }], refundTo: REFUND, returnedStrays: new Map([[zeroAddress, returned]]) }, paid),
        1n,
        WINDOW,
      )[0];
    expect(bnb(0n).stateKey).to.not.equal(bnb(5n).stateKey);
  });

  it("returns a stray only to its one sender: strays of several senders at once wait for the operator", () => {
    const paid = { status: "paid" as const, token: USDT, paidAmount: 100n };
    // 100 collected, then 5 from SENDER and 4 from OTHER wait at the address: returnStray would send all 9 to one.
    const mixed = view({ holdings: [{ token: USDT, amount: 9n }], transfers: [sent(SENDER, 100n), sent(SENDER, 5n), sent(OTHER, 4n)] }, paid);
    expect(planActions(mixed, 1n, WINDOW)).to.deep.equal([]);
    // Only OTHER's 4 wait (SENDER's 5 went back already): it goes to OTHER, not to the last-but-one sender.
    const one = view({ holdings: [{ token: USDT, amount: 4n }], transfers: [sent(SENDER, 100n), sent(SENDER, 5n), sent(OTHER, 4n)] }, paid);
    expect(planActions(one, 1n, WINDOW)).to.deep.equal([
      { kind: "returnStray", paymentId: ID, token: USDT, to: OTHER, stateKey: `${USDT.toLowerCase()}:4:3:0` },
    ]);
    // More waits than the recorded transfers explain: nobody to name.
    expect(planActions(view({ holdings: [{ token: USDC, amount: 9n }], transfers: [sent(SENDER, 5n, USDC)] }, paid), 1n, WINDOW)).to.deep.equal([]);
  });

  describe("each accepted token adds up apart", () => {
    const customerPays = (amount: bigint, timestamp: bigint = EXPIRY - 60n) => sent(SENDER, amount, USDT, timestamp);
    const dust = (timestamp: bigint = EXPIRY - 120n) => sent(THIRD, 1n, USDC, timestamp);

    it("a third party's 1 wei in another accepted token never stops the collect of the customer's token", () => {
      // Both wait at the deposit address: both are collected, in the order they are held, in one round.
      const both = view({
        holdings: [
          { token: USDC, amount: 1n },
          { token: USDT, amount: 100n },
        ],
        transfers: [dust(), customerPays(100n)],
      });
      expect(planActions(both, EXPIRY - 1n, WINDOW)).to.deep.equal([
        { kind: "collect", paymentId: ID, token: USDC, stateKey: `${key(USDC)}:1:0` },
        { kind: "collect", paymentId: ID, token: USDT, stateKey: `${key(USDT)}:100:0` },
      ]);
      // The dust was collected first: the payment's record is in USDC, and the customer's USDT is collected apart.
      const dustFirst = { status: "pending" as const, token: USDC, paidAmount: 1n };
      const waiting = view(
        { holdings: [{ token: USDT, amount: 100n }], transfers: [dust(), customerPays(100n)], deposits: deposits([USDC, DEPOSIT, 1n]) },
        dustFirst,
      );
      expect(planActions(waiting, EXPIRY - 1n, WINDOW)).to.deep.equal([{ kind: "collect", paymentId: ID, token: USDT, stateKey: `${key(USDT)}:100:0` }]);
      // Within the late-collect window too, when the customer's transfer came by the expiry; and the payment is not
      // expired meanwhile.
      expect(planActions(waiting, EXPIRY + 60n, WINDOW)).to.deep.equal([{ kind: "collect", paymentId: ID, token: USDT, stateKey: `${key(USDT)}:100:0` }]);
      // A top-up in the token kept apart names what is held in that token, so an equal top-up is a new state.
      const topUp = view({ holdings: [{ token: USDT, amount: 50n }] }, { ...dustFirst, otherDeposits: [{ token: USDT, amount: 50n }] });
      expect(planActions(topUp, EXPIRY - 1n, WINDOW)).to.deep.equal([{ kind: "collect", paymentId: ID, token: USDT, stateKey: `${key(USDT)}:50:50` }]);
      // Dust arriving after the expiry is a stray, the customer's on-time transfer is still collected.
      const lateDust = view(
        {
          holdings: [
            { token: USDC, amount: 1n },
            { token: USDT, amount: 100n },
          ],
          transfers: [customerPays(100n), dust(EXPIRY + 5n)],
        },
        { status: "pending", token: USDT, paidAmount: 0n },
      );
      expect(planActions(lateDust, EXPIRY + 60n, WINDOW)).to.deep.equal([
        { kind: "returnStray", paymentId: ID, token: USDC, to: THIRD, stateKey: `${key(USDC)}:1:1:0` },
        { kind: "collect", paymentId: ID, token: USDT, stateKey: `${key(USDT)}:100:0` },
      ]);
    });

    it("expires an unpaid payment with one expire per token it holds deposits in, each listing that token's payers", () => {
      // THIRD paid 1 wei of USDC first (the payment's record), SENDER 40 USDT apart, plus 5 USDT collected from the
      // deposit address.
      const unpaid = view(
        {
          deposits: deposits([USDC, THIRD, 1n], [USDT, SENDER, 40n], [USDT, DEPOSIT, 5n]),
          collectedFromDepositAddress: collected([USDT, 5n]),
          transfers: [sent(OTHER, 5n)],
        },
        { status: "pending", token: USDC, paidAmount: 1n, otherDeposits: [{ token: USDT, amount: 45n }] },
      );
      expect(planActions(unpaid, EXPIRY, WINDOW)).to.deep.equal([]);
      // Its own token first (that call expires it); the deposit address's deposits wait for refundDepositAddress
      // (no refund address in the intent), so they are not listed.
      expect(planActions(unpaid, EXPIRY + 1n, WINDOW)).to.deep.equal([
        { kind: "expire", paymentId: ID, token: USDC, payers: [THIRD], stateKey: `expire:${key(USDC)}:1` },
        { kind: "expire", paymentId: ID, token: USDT, payers: [SENDER], stateKey: `expire:${key(USDT)}:40` },
      ]);
      // With a refund address, expire sends the deposit address's deposits there too.
      expect(planActions({ ...unpaid, refundTo: REFUND }, EXPIRY + 1n, WINDOW)).to.deep.equal([
        { kind: "expire", paymentId: ID, token: USDC, payers: [THIRD], stateKey: `expire:${key(USDC)}:1` },
        { kind: "expire", paymentId: ID, token: USDT, payers: [SENDER, DEPOSIT], stateKey: `expire:${key(USDT)}:45` },
      ]);
      // Only the deposit address paid: its own token's expire still goes (it expires the payment), listing no one;
      // another token held only for the deposit address gets no expire.
      const viaAddress = view(
        { deposits: deposits([USDC, DEPOSIT, 1n], [USDT, DEPOSIT, 40n]), collectedFromDepositAddress: collected([USDC, 1n], [USDT, 40n]) },
        { status: "pending", token: USDC, paidAmount: 1n, otherDeposits: [{ token: USDT, amount: 40n }] },
      );
      expect(planActions(viaAddress, EXPIRY + 1n, WINDOW)).to.deep.equal([
        { kind: "expire", paymentId: ID, token: USDC, payers: [], stateKey: `expire:${key(USDC)}:0` },
      ]);
      // A token of the intent still waiting to be collected holds the expiry back, whichever token it is.
      const collecting = { ...unpaid, holdings: [{ token: zeroAddress, amount: 3n }], transfers: [sent(zeroAddress, 3n, zeroAddress, EXPIRY - 1n)] };
      expect(kinds(collecting, EXPIRY + 1n)).to.deep.equal(["collect"]);
      // Once the escrow's expiry is on chain and confirmed, what the deposit address paid goes back, token by token.
      const expired: KeeperView = {
        ...viaAddress,
        transfers: [sent(THIRD, 1n, USDC), sent(SENDER, 40n)],
        payment: { ...viaAddress.payment, status: "expired", expiredBlock: 7 },
      };
      expect(planActions(expired, EXPIRY + 1n, WINDOW)).to.deep.equal([
        { kind: "refundDepositAddress", paymentId: ID, token: USDC, to: THIRD, amount: 1n, stateKey: `refund:${key(USDC)}:${key(THIRD)}:0` },
        { kind: "refundDepositAddress", paymentId: ID, token: USDT, to: SENDER, amount: 40n, stateKey: `refund:${key(USDT)}:${key(SENDER)}:0` },
      ]);
      // On chain but not confirmed yet: nothing (a reorganisation may take the expiry back).
      expect(planActions({ ...expired, payment: { ...expired.payment, status: "pending" } }, EXPIRY + 1n, WINDOW)).to.deep.equal([]);
    });

    it("sends back an expired payment's deposits that another's expire left, in any token", () => {
      // Someone expired it with only THIRD's USDC listed: SENDER's USDC and OTHER's BNB are still held.
      const partly = view(
        { deposits: deposits([USDC, THIRD, 0n], [USDC, SENDER, 7n], [zeroAddress, OTHER, 2n]) },
        { status: "expired", token: USDC, paidAmount: 8n, otherDeposits: [{ token: zeroAddress, amount: 2n }], expiredBlock: 7 },
      );
      expect(planActions(partly, EXPIRY + 1n, WINDOW)).to.deep.equal([
        { kind: "expire", paymentId: ID, token: USDC, payers: [SENDER], stateKey: `expire:${key(USDC)}:7` },
        { kind: "expire", paymentId: ID, token: zeroAddress, payers: [OTHER], stateKey: `expire:${zeroAddress}:2` },
      ]);
    });

    it("refunds what a paid payment holds in the tokens that did not pay it, never the one that did", () => {
      // THIRD's 1 wei of USDC was collected first, then the customer's 100 USDT completed the payment in USDT.
      const transfers = [dust(), customerPays(100n)];
      const leftover = {
        transfers,
        deposits: deposits([USDC, DEPOSIT, 1n]),
        collectedFromDepositAddress: collected([USDC, 1n], [USDT, 100n]),
      };
      const paidInUsdt = { token: USDT, paidAmount: 100n, otherDeposits: [{ token: USDC, amount: 1n }] };
      const refundDust = { kind: "refundDepositAddress", paymentId: ID, token: USDC, to: THIRD, amount: 1n, stateKey: `refund:${key(USDC)}:${key(THIRD)}:0` };
      for (const status of ["confirming", "paid", "refunding", "partially_refunded", "refunded"] as const) {
        expect(planActions(view(leftover, { ...paidInUsdt, status }), EXPIRY - 1n, WINDOW), status).to.deep.equal([refundDust]);
      }
      // Still open: nothing is refundable yet (the USDC may still pay it).
      expect(
        planActions(view(leftover, { ...paidInUsdt, status: "pending", token: USDC, paidAmount: 1n, otherDeposits: [] }), EXPIRY - 1n, WINDOW),
      ).to.deep.equal([]);
      // Once the refund is seen, nothing more.
      const refunded = view(
        { ...leftover, deposits: deposits([USDC, DEPOSIT, 0n]), refundedFromDepositAddress: refundedFrom([USDC, THIRD, 1n]) },
        { ...paidInUsdt, status: "paid", otherDeposits: [] },
      );
      expect(planActions(refunded, EXPIRY - 1n, WINDOW)).to.deep.equal([]);
      // Paid directly (no deposit address), by payers the escrow knows: expire sends their leftovers back; the
      // deposits in the token that paid it (USDT, SENDER's partial one) are the merchant's.
      const direct = view(
        { deposits: deposits([USDC, THIRD, 1n], [USDC, OTHER, 3n], [USDT, SENDER, 40n]) },
        { status: "paid", token: USDT, paidAmount: 100n, otherDeposits: [{ token: USDC, amount: 4n }] },
      );
      expect(planActions(direct, EXPIRY + 1n, WINDOW)).to.deep.equal([
        { kind: "expire", paymentId: ID, token: USDC, payers: [THIRD, OTHER], stateKey: `expire:${key(USDC)}:4` },
      ]);
      // With a refund address, expire sends the deposit address's leftovers there; no refundDepositAddress.
      expect(planActions(view({ ...leftover, refundTo: REFUND }, { ...paidInUsdt, status: "paid" }), EXPIRY - 1n, WINDOW)).to.deep.equal([
        { kind: "expire", paymentId: ID, token: USDC, payers: [DEPOSIT], stateKey: `expire:${key(USDC)}:1` },
      ]);
      // A leftover no recorded transfer explains (BNB names no sender) is left to the operator.
      const bnb = view(
        {
          deposits: deposits([zeroAddress, DEPOSIT, 5n]),
          collectedFromDepositAddress: collected([zeroAddress, 5n], [USDT, 100n]),
          transfers: [customerPays(100n)],
        },
        { status: "paid", token: USDT, paidAmount: 100n, otherDeposits: [{ token: zeroAddress, amount: 5n }] },
      );
      expect(planFor(bnb, EXPIRY - 1n, WINDOW)).to.deep.equal({
        actions: [],
        leftToOperator: [{ paymentId: ID, token: zeroAddress, amount: 5n, reason: "bnb_without_refund_address", stateKey: `refund:${zeroAddress}:5:0` }],
      });
    });

    it("names the token and amount of an action it leaves to the operator", () => {
      const unpaid = view(
        { deposits: deposits([USDC, THIRD, 1n], [USDT, SENDER, 40n]) },
        { status: "pending", token: USDC, paidAmount: 1n, otherDeposits: [{ token: USDT, amount: 40n }] },
      );
      const [expireOwn, expireOther] = planActions(unpaid, EXPIRY + 1n, WINDOW);
      expect(subjectOf(expireOwn, unpaid)).to.deep.equal({ token: USDC, amount: 1n });
      expect(subjectOf(expireOther, unpaid)).to.deep.equal({ token: USDT, amount: 40n });
      const refund = { kind: "refundDepositAddress" as const, paymentId: ID, token: USDC, to: THIRD, amount: 1n, stateKey: "" };
      expect(subjectOf(refund, unpaid)).to.deep.equal({ token: USDC, amount: 1n });
    });
  });

  describe("tokens the escrow does not take", function () {
    const JUNK = `0x${"99".repeat(20)}` as Address;
    const seen = (amount: bigint, returnedBy: Hex | null = null) => ({
      token: JUNK,
      amount,
      sender: SENDER,
      transactionHash: `0x${"66".repeat(32)}` as Hex,
      returnedBy,
    });

    it("leaves them to the operator, one case per token, whatever the payment's status, and sends nothing for them", function () {
      for (const status of ["initiated", "paid", "expired"] as const) {
        const plan = planFor(view({}, { status, unacceptedTransfers: [seen(7n), seen(3n)] }), EXPIRY + WINDOW + 1n, WINDOW);
        expect(plan.actions, status).to.deep.equal([]);
        expect(plan.leftToOperator, status).to.deep.equal([
          { paymentId: ID, token: JUNK, amount: 10n, reason: "unaccepted_token", stateKey: `unaccepted:${key(JUNK)}:10:2` },
        ]);
      }
    });

    it("stops reporting them once the operator returned them", function () {
      expect(planFor(view({}, { unacceptedTransfers: [seen(7n, `0x${"77".repeat(32)}`)] }), 1n, WINDOW).leftToOperator).to.deep.equal([]);
    });
  });
});
