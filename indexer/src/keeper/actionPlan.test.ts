import { expect } from "chai";
import { zeroAddress, type Address, type Hex } from "viem";
import { newPayment, type Payment } from "../payments/payment";
import { planActions, type KeeperView } from "./actionPlan";

const ID = `0x${"11".repeat(32)}` as Hex;
const USDT = `0x${"22".repeat(20)}` as Address;
const USDC = `0x${"23".repeat(20)}` as Address;
const SENDER = `0x${"33".repeat(20)}` as Address;
const REFUND = `0x${"44".repeat(20)}` as Address;
const DEPOSIT = `0x${"55".repeat(20)}` as Address;
const EXPIRY = 10_000n;
const WINDOW = 3_600n;

function view(overrides: Partial<KeeperView> = {}, payment: Partial<Payment> = {}): KeeperView {
  return {
    payment: { ...newPayment({ id: ID, amountUsd: 100n, expiry: EXPIRY }), ...payment },
    expiry: EXPIRY,
    refundTo: zeroAddress,
    depositAddress: DEPOSIT,
    holdings: [],
    senders: new Map([[USDT, SENDER]]),
    payers: [],
    heldForDepositAddress: 0n,
    ...overrides,
  };
}

const kinds = (v: KeeperView, now: bigint) => planActions(v, now, WINDOW).map((action) => action.kind);

describe("the keeper's action plan", () => {
  it("does nothing for a payment with nothing at its deposit address", () => {
    expect(planActions(view(), EXPIRY - 1n, WINDOW)).to.deep.equal([]);
  });

  it("collects what waits at an open payment's deposit address until the late-collect window closes", () => {
    const funded = view({ holdings: [{ token: USDT, amount: 5n }] });
    expect(planActions(funded, EXPIRY, WINDOW)).to.deep.equal([{ kind: "collect", paymentId: ID, token: USDT, stateKey: `${USDT}:5:0` }]);
    expect(kinds(funded, EXPIRY + WINDOW)).to.deep.equal(["collect"]);
    expect(planActions(funded, EXPIRY + WINDOW + 1n, WINDOW)).to.deep.equal([
      { kind: "returnStray", paymentId: ID, token: USDT, to: SENDER, stateKey: `${USDT}:5` },
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
    expect(planActions(again, 1n, WINDOW)).to.deep.equal([{ kind: "collect", paymentId: ID, token: USDT, stateKey: `${USDT}:5:5` }]);
    expect(planActions(again, 1n, WINDOW)[0].stateKey).to.not.equal(first.stateKey);
  });

  it("returns another token than the one the payment is paid in, to the refund address when the intent names one", () => {
    const mixed = view({ holdings: [{ token: USDC, amount: 9n }], refundTo: REFUND }, { status: "pending", token: USDT, receivedUsd: 1n });
    expect(planActions(mixed, 1n, WINDOW)).to.deep.equal([{ kind: "returnStray", paymentId: ID, token: USDC, to: REFUND, stateKey: `${USDC}:9` }]);
  });

  it("leaves BNB without a sender or refund address to the operator", () => {
    expect(planActions(view({ holdings: [{ token: zeroAddress, amount: 1n }] }, { status: "paid" }), 1n, WINDOW)).to.deep.equal([]);
  });

  it("expires a payment holding deposits once its time is up, unless a deposit is still being collected", () => {
    const partly = view({ payers: [SENDER] }, { status: "pending", receivedUsd: 40n, token: USDT });
    expect(kinds(partly, EXPIRY)).to.deep.equal([]);
    expect(planActions(partly, EXPIRY + 1n, WINDOW)).to.deep.equal([{ kind: "expire", paymentId: ID, payers: [SENDER], stateKey: "expire" }]);
    const collecting = { ...partly, holdings: [{ token: USDT, amount: 3n }] };
    expect(kinds(collecting, EXPIRY + 1n)).to.deep.equal(["collect"]);
  });

  it("sends an expired payment's deposit-address deposits back to whoever sent them", () => {
    const expired = view({ heldForDepositAddress: 12n, depositAddressSender: SENDER }, { status: "expired" });
    expect(planActions(expired, EXPIRY + 1n, WINDOW)).to.deep.equal([
      { kind: "refundDepositAddress", paymentId: ID, to: SENDER, amount: 12n, stateKey: "refund:12" },
    ]);
    expect(kinds({ ...expired, refundTo: REFUND }, EXPIRY + 1n)).to.deep.equal([]);
  });
});
