import { expect } from "chai";
import { encodeAbiParameters, encodeEventTopics, getAddress, parseEventLogs, type Hex, type Log } from "viem";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import { paymentLogs } from "./escrowLogs";
import { merchantLogs } from "./merchantLogs";

const ID = `0x${"ab".repeat(32)}` as Hex;
const A = getAddress(`0x${"12".repeat(20)}`);
const B = getAddress(`0x${"34".repeat(20)}`);
const C = getAddress(`0x${"56".repeat(20)}`);
const BIG = 2n ** 200n + 12345n;

type EventName = Extract<(typeof openPayEscrowAbi)[number], { type: "event" }>["name"];

/** A log of the escrow as a node returns it. */
function logOf(eventName: EventName, args: Record<string, unknown>, blockNumber: number, logIndex: number): Log {
  const event = openPayEscrowAbi.find((item) => item.type === "event" && item.name === eventName)! as Extract<
    (typeof openPayEscrowAbi)[number],
    { type: "event" }
  >;
  const topics = encodeEventTopics({ abi: [event], eventName, args } as never) as Hex[];
  const data = encodeAbiParameters(
    event.inputs.filter((input) => !input.indexed),
    event.inputs.filter((input) => !input.indexed).map((input) => args[input.name!]),
  );
  return {
    address: A,
    topics: topics as [Hex, ...Hex[]],
    data,
    blockNumber: BigInt(blockNumber),
    logIndex,
    blockHash: `0x${"0f".repeat(32)}`,
    transactionHash: `0x${"0e".repeat(32)}`,
    transactionIndex: 0,
    removed: false,
  } as Log;
}

describe("decoding the escrow's payment logs", () => {
  const logs = [
    logOf("PaymentCompleted", { paymentId: ID, merchant: A, payer: B, token: C, amount: BIG, valueUsd: 2n, receivedUsd: 3n, excessUsd: 4n, fee: 5n }, 9, 1),
    logOf("PaymentDeposited", { paymentId: ID, merchant: A, payer: B, token: C, amount: 1n, valueUsd: 2n, receivedUsd: 3n, remainingUsd: BIG }, 9, 0),
    logOf("PaymentExpired", { paymentId: ID, token: C, amount: 7n, receivedUsd: 8n }, 10, 0),
    logOf("DepositRefunded", { paymentId: ID, payer: B, to: A, token: C, amount: 9n }, 10, 1),
    logOf("PaymentRefunded", { paymentId: ID, merchant: A, to: B, token: C, amount: 10n, refundedTotal: 11n }, 11, 0),
    logOf("StrayReturned", { paymentId: ID, depositAddress: A, to: B, token: C, amount: 12n }, 11, 1),
    logOf("RefundClaimable", { paymentId: ID, account: B, token: C, amount: 13n }, 11, 2),
    logOf("Withdrawn", { merchant: A, payout: B, token: C, amount: 14n }, 12, 0),
  ];

  it("decodes every payment event exactly as viem does, in chain order, leaving other events out", () => {
    const decoded = paymentLogs(logs);
    expect(decoded.map((log) => log.event.kind)).to.deep.equal([
      "deposited",
      "completed",
      "expired",
      "deposit_refunded",
      "refunded",
      "stray_returned",
      "refund_claimable",
    ]);
    const reference = parseEventLogs({ abi: openPayEscrowAbi, logs });
    for (const { event, paymentId } of decoded) {
      expect(paymentId).to.equal(ID);
      const viem = reference.find((log) => log.logIndex === event.position.logIndex && Number(log.blockNumber) === event.position.blockNumber)!;
      for (const [field, value] of Object.entries(event)) {
        if (["kind", "position", "transactionHash"].includes(field)) continue;
        expect(value, `${event.kind}.${field}`).to.equal((viem.args as Record<string, unknown>)[field]);
      }
    }
    expect(decoded[0].event).to.deep.include({ amount: 1n, remainingUsd: BIG, payer: B, token: C });
    expect(decoded[0].event).to.not.have.property("merchant");
  });

  it("skips removed logs and refuses a log whose data does not fit its event", () => {
    expect(paymentLogs([{ ...logs[0], removed: true }])).to.deep.equal([]);
    expect(() => paymentLogs([{ ...logs[2], data: "0x1234" }])).to.throw(/expired data has 2 bytes/);
  });

  it("decodes the merchant-level logs (completions, refunds, withdrawals; deposits are payment events) in chain order, with their merchant", () => {
    const decoded = merchantLogs(logs);
    expect(decoded.map((log) => [log.kind, log.blockNumber, log.logIndex])).to.deep.equal([
      ["completed", 9, 1],
      ["refunded", 11, 0],
      ["withdrawn", 12, 0],
    ]);
    expect(decoded[0]).to.deep.include({ merchant: A, token: C, amount: BIG, fee: 5n, paymentId: ID, counterparty: null });
    expect(decoded[1]).to.deep.include({ merchant: A, token: C, amount: 10n, fee: 0n, paymentId: ID, counterparty: B });
    expect(decoded[2]).to.deep.include({ merchant: A, token: C, amount: 14n, paymentId: null, counterparty: B });
    expect(merchantLogs([{ ...logs[7], removed: true }])).to.deep.equal([]);
  });
});
