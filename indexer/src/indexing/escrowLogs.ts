import { getAddress, toEventSelector, type AbiEvent, type Address, type Hex, type Log } from "viem";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import type { ChainPaymentEvent, ChainPosition } from "../payments/paymentEvents";

/** One payment event from the escrow's logs, with the payment it belongs to and the block it came in. */
export interface PaymentLog {
  paymentId: Hex;
  event: ChainPaymentEvent;
  blockHash: Hex;
}

/** The escrow's events that concern a payment (its id is their first indexed topic), by the kind they become. */
const PAYMENT_EVENTS = {
  PaymentDeposited: "deposited",
  PaymentCompleted: "completed",
  PaymentExpired: "expired",
  DepositRefunded: "deposit_refunded",
  PaymentRefunded: "refunded",
  StrayReturned: "stray_returned",
  RefundClaimable: "refund_claimable",
} as const;

type Field = { name: string; type: string };

/** Fields the status machine does not take: the merchant is known from the payment, the deposit address too. */
const OMITTED = new Set(["merchant", "depositAddress"]);

/** Where an escrow event's fields sit in a log. */
export interface EventLayout {
  name: string;
  /** Indexed fields after topic 0, in topics 1 to 3. */
  topics: Field[];
  /** Non-indexed fields, one 32-byte word each (every event decoded here has only static types). */
  words: Field[];
}

/**
 * The layouts of the escrow's events named, by their topic 0, worked out once from the ABI. Decoding by hand against
 * these layouts is about twenty times faster than viem's parseEventLogs, which looks each log's event up in the whole
 * ABI (130 entries) and decodes generically: at tens of thousands of logs per backfill batch, that was most of the
 * indexer's time.
 */
export function eventLayouts(names: readonly string[]): Map<Hex, EventLayout> {
  return new Map(
    openPayEscrowAbi
      .filter((item): item is Extract<(typeof openPayEscrowAbi)[number], { type: "event" }> => item.type === "event")
      .filter((item) => names.includes(item.name))
      .map((item) => {
        const inputs = item.inputs as readonly (Field & { indexed?: boolean })[];
        for (const input of inputs) {
          if (!/^(address|uint\d+|bytes32)$/.test(input.type)) throw new Error(`${item.name}.${input.name}: ${input.type} is not a static word type`);
        }
        return [
          toEventSelector(item as AbiEvent),
          { name: item.name, topics: inputs.filter((input) => input.indexed), words: inputs.filter((input) => !input.indexed) },
        ];
      }),
  );
}

/** A log's fields by name (those in `omitted` left out); throws naming `what` when its data does not fit. */
export function decodedFields(log: Log, layout: EventLayout, what: string, omitted: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  layout.topics.forEach((field, i) => {
    if (!omitted.has(field.name)) fields[field.name] = decodeWord(field.type, log.topics[i + 1]!.slice(2));
  });
  const data = log.data.slice(2);
  if (data.length !== layout.words.length * 64) throw new Error(`log ${log.transactionHash}:${log.logIndex}: ${what} data has ${data.length / 2} bytes`);
  layout.words.forEach((field, i) => {
    if (!omitted.has(field.name)) fields[field.name] = decodeWord(field.type, data.slice(i * 64, i * 64 + 64));
  });
  return fields;
}

/** The payment events' layouts, by topic 0. */
const LAYOUTS = eventLayouts(Object.keys(PAYMENT_EVENTS));

/** Checksummed addresses by their lowercase form: a batch repeats the same few tokens and payers many times. */
const checksummed = new Map<string, Address>();

function decodeWord(type: string, word: string): Address | bigint | Hex {
  if (type === "address") {
    const lower = word.slice(24);
    let address = checksummed.get(lower);
    if (address === undefined) {
      address = getAddress(`0x${lower}`);
      if (checksummed.size > 100_000) checksummed.clear();
      checksummed.set(lower, address);
    }
    return address;
  }
  if (type === "bytes32") return `0x${word}` as Hex;
  return BigInt(`0x${word}`);
}

/**
 * Decodes raw escrow logs into the status machine's events, in chain order. Logs of other events (withdrawals,
 * configuration) and removed logs are left out.
 */
export function paymentLogs(logs: readonly Log[]): PaymentLog[] {
  const result: PaymentLog[] = [];
  for (const log of logs) {
    const layout = log.topics[0] === undefined ? undefined : LAYOUTS.get(log.topics[0].toLowerCase() as Hex);
    if (!layout || log.removed || log.blockNumber === null || log.logIndex === null || log.blockHash === null || log.transactionHash === null) {
      continue;
    }
    const kind = PAYMENT_EVENTS[layout.name as keyof typeof PAYMENT_EVENTS];
    const { paymentId, ...fields } = decodedFields(log, layout, kind, OMITTED);
    const position: ChainPosition = { blockNumber: Number(log.blockNumber), logIndex: log.logIndex };
    result.push({
      paymentId: (paymentId as Hex).toLowerCase() as Hex,
      event: { kind, position, transactionHash: log.transactionHash, ...fields } as ChainPaymentEvent,
      blockHash: log.blockHash,
    });
  }
  return result.sort((a, b) => a.event.position.blockNumber - b.event.position.blockNumber || a.event.position.logIndex - b.event.position.logIndex);
}
