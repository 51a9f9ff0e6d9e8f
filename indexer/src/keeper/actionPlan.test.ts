import { expect } from "chai";
import { zeroAddress, type Address, type Hex } from "viem";
import { newPayment, type Payment } from "../payments/payment";
import { arrivals, depositAddressRefunds, planActions, planFor, sendersOf, type DepositTransfer, type KeeperView } from "./actionPlan";

const ID = `0x${"11".repeat(32)}` as Hex;
const USDT = `0x${"22".repeat(20)}` as Address;
const USDC = `0x${"23".repeat(20)}` as Address;
const SENDER = `0x${"33".repeat(20)}` as Address;
const OTHER = `0x${"34".repeat(20)}` as Address;
const THIRD = `0x${"35".repeat(20)}` as Address;
const REFUND = `0x${"44".repeat(20)}` as Address;
const DEPOSIT = `0x${"55".repeat(20)}` as Address;
const EXPIRY = 10_000n;
const WINDOW = 3_600n;

function view(overrides: Partial<KeeperView> = {}, payment: Partial<Payment> = {}): KeeperView {
  return {
    payment: { ...newPayment({ id: ID, amountUsd: 100n, expiry: EXPIRY, depositAddress: DEPOSIT }), ...payment },
    expiry: EXPIRY,
    refundTo: zeroAddress,
    depositAddress: DEPOSIT,
    holdings: [],
    transfers: [],
    payers: [],
    collectedFromDepositAddress: 0n,
    refundedFromDepositAddress: new Map(),
    returnedStrays: new Map(),
    ...overrides,
  };
}

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

  it("returns another token than the one the payment is paid in, to the refund address when the intent names one", () => {
    const mixed = view({ holdings: [{ token: USDC, amount: 9n }], refundTo: REFUND, transfers: [sent(SENDER, 9n, USDC)] }, { status: "pending", token: USDT, receivedUsd: 1n });
    expect(planActions(mixed, 1n, WINDOW)).to.deep.equal([{ kind: "returnStray", paymentId: ID, token: USDC, to: REFUND, stateKey: `${USDC.toLowerCase()}:9:1:0` }]);
  });

  it("leaves BNB without a sender or refund address to the operator", () => {
    expect(planActions(view({ holdings: [{ token: zeroAddress, amount: 1n }] }, { status: "paid" }), 1n, WINDOW)).to.deep.equal([]);
  });

  it("expires a payment holding deposits once its time is up, unless a deposit is still being collected", () => {
    const partly = view({ payers: [SENDER] }, { status: "pending", receivedUsd: 40n, token: USDT });
    expect(kinds(partly, EXPIRY)).to.deep.equal([]);
    expect(planActions(partly, EXPIRY + 1n, WINDOW)).to.deep.equal([{ kind: "expire", paymentId: ID, payers: [SENDER], stateKey: "expire" }]);
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
      { holdings: late.holdings, transfers: late.transfers, payers: [OTHER] },
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
      { holdings: [{ token: USDT, amount: 8n }], transfers: [sent(SENDER, 5n, USDT, EXPIRY - 1n), sent(SENDER, 3n, USDT, EXPIRY + 1n)], payers: [OTHER] },
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
    expect(reasons(view({ holdings: [{ token: zeroAddress, amount: 1n }] }, paid))).to.deep.equal([{ reason: "bnb_without_refund_address", token: zeroAddress, amount: 1n }]);
    // An expired BNB payment collected from its deposit address: no transfer names who sent it.
    const bnbExpired = view({ collectedFromDepositAddress: 7n }, { status: "expired", token: zeroAddress });
    expect(planFor(bnbExpired, EXPIRY + 1n, WINDOW)).to.deep.equal({
      actions: [],
      leftToOperator: [{ paymentId: ID, token: zeroAddress, amount: 7n, reason: "bnb_without_refund_address", stateKey: "refund:7:0" }],
    });
    // Collected units beyond what the recorded transfers explain: their senders refunded, the rest named.
    const short = view({ collectedFromDepositAddress: 9n, transfers: [sent(SENDER, 4n)] }, { status: "expired", token: USDT });
    expect(planFor(short, EXPIRY + 1n, WINDOW).leftToOperator).to.deep.equal([
      { paymentId: ID, token: USDT, amount: 5n, reason: "unknown_sender", stateKey: "refund:9:0" },
    ]);
  });

  it("sends an expired payment's deposit-address deposits back to whoever sent them", () => {
    const expired = view({ collectedFromDepositAddress: 12n, transfers: [sent(SENDER, 12n)] }, { status: "expired", token: USDT });
    expect(planActions(expired, EXPIRY + 1n, WINDOW)).to.deep.equal([
      { kind: "refundDepositAddress", paymentId: ID, to: SENDER, amount: 12n, stateKey: `refund:${SENDER.toLowerCase()}:0` },
    ]);
    // With a refund address in the intent, expire() sent them there already.
    expect(kinds({ ...expired, refundTo: REFUND }, EXPIRY + 1n)).to.deep.equal([]);
  });

  it("refunds each sender of an expired payment's deposit address what it sent, not all to the first", () => {
    const expired = view({ collectedFromDepositAddress: 9n, transfers: [sent(SENDER, 6n), sent(OTHER, 3n)] }, { status: "expired", token: USDT });
    expect(planActions(expired, EXPIRY + 1n, WINDOW)).to.deep.equal([
      { kind: "refundDepositAddress", paymentId: ID, to: SENDER, amount: 6n, stateKey: `refund:${SENDER.toLowerCase()}:0` },
      { kind: "refundDepositAddress", paymentId: ID, to: OTHER, amount: 3n, stateKey: `refund:${OTHER.toLowerCase()}:0` },
    ]);
    // A sender's several transfers add up; transfers in another token are not part of it.
    const repeated = view(
      { collectedFromDepositAddress: 9n, transfers: [sent(SENDER, 2n), sent(OTHER, 3n), sent(THIRD, 8n, USDC), sent(SENDER, 4n)] },
      { status: "expired", token: USDT },
    );
    expect(depositAddressRefunds(repeated)).to.deep.equal([
      { to: SENDER, amount: 6n, refundedBefore: 0n },
      { to: OTHER, amount: 3n, refundedBefore: 0n },
    ]);
  });

  it("refunds only what the escrow collected and still holds, first transfers first, and never a sender twice for one state", () => {
    // 6 from SENDER and 3 from OTHER were collected; OTHER's later 5 came after the window and was never collected
    // (a stray, returned by returnStray): the escrow holds 9.
    const transfers = [sent(SENDER, 6n), sent(OTHER, 3n), sent(OTHER, 5n)];
    const expired = { transfers, collectedFromDepositAddress: 9n };
    expect(depositAddressRefunds(view(expired, { status: "expired", token: USDT }))).to.deep.equal([
      { to: SENDER, amount: 6n, refundedBefore: 0n },
      { to: OTHER, amount: 3n, refundedBefore: 0n },
    ]);
    // SENDER's refund is on chain: only OTHER's is due, and SENDER's next key would be another state.
    const afterFirst = view({ ...expired, refundedFromDepositAddress: new Map([[SENDER, 6n]]) }, { status: "expired", token: USDT });
    expect(planActions(afterFirst, EXPIRY + 1n, WINDOW)).to.deep.equal([
      { kind: "refundDepositAddress", paymentId: ID, to: OTHER, amount: 3n, stateKey: `refund:${OTHER.toLowerCase()}:0` },
    ]);
    // Someone else was sent 4 of it (the operator by hand): what is held runs out in the order of the first transfers.
    const short = view({ ...expired, refundedFromDepositAddress: new Map([[REFUND, 4n]]) }, { status: "expired", token: USDT });
    expect(depositAddressRefunds(short)).to.deep.equal([{ to: SENDER, amount: 5n, refundedBefore: 0n }]);
    // Nothing held, nothing sent; a collect no recorded transfer explains is left to the operator.
    expect(depositAddressRefunds(view({ transfers }, { status: "expired", token: USDT }))).to.deep.equal([]);
    expect(depositAddressRefunds(view({ collectedFromDepositAddress: 9n, transfers: [sent(SENDER, 4n)] }, { status: "expired", token: USDT }))).to.deep.equal([
      { to: SENDER, amount: 4n, refundedBefore: 0n },
    ]);
  });

  it("attributes stretches of a deposit address's transfers to their senders", () => {
    const transfers = [sent(SENDER, 6n), sent(OTHER, 3n), sent(SENDER, 1n)];
    expect(sendersOf(transfers, 0n, 10n)).to.deep.equal({ shares: new Map([[SENDER, 7n], [OTHER, 3n]]), covered: 10n });
    expect(sendersOf(transfers, 5n, 8n)).to.deep.equal({ shares: new Map([[SENDER, 1n], [OTHER, 2n]]), covered: 3n });
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
      planActions(view({ holdings: [{ token: zeroAddress, amount: 5n }], refundTo: REFUND, returnedStrays: new Map([[zeroAddress, returned]]) }, paid), 1n, WINDOW)[0];
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
});
