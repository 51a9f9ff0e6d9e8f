import type { Address, Hex } from "viem";
import type { Payment } from "../payments/payment";
import type { PaymentRegistration } from "../payments/paymentRegistration";
import type { PaymentStatus } from "../payments/statuses";
import type { PaymentsTable } from "./schema";
import { rowBoolean } from "./rowBoolean";

type Row = { [K in keyof PaymentsTable]: unknown };

const big = (value: unknown) => BigInt(value as string);
const tokenList = (value: unknown) => (value ? (String(value).split(",") as Address[]) : []);
const num = (value: unknown) => (value === null || value === undefined ? null : Number(value));

/** A JSON list of money records (refunds, returned or unaccepted transfers) with its amounts back as bigints. */
function recordsFrom<T extends { amount: bigint }>(value: unknown): T[] {
  return (JSON.parse(value as string) as Array<Omit<T, "amount"> & { amount: string }>).map((record) => ({ ...record, amount: BigInt(record.amount) }) as T);
}

/** The JSON of a list of money records, amounts as decimal strings. */
const recordsJson = (records: ReadonlyArray<{ amount: bigint }>) => JSON.stringify(records.map((record) => ({ ...record, amount: record.amount.toString() })));

/** The machine's payment from its row. */
export function paymentFromRow(row: Row): Payment {
  const cursorBlock = num(row.cursor_block);
  return {
    id: row.id as Hex,
    status: row.status as PaymentStatus,
    previousStatus: (row.previous_status as PaymentStatus | null) ?? null,
    sequence: Number(row.sequence),
    amountUsd: big(row.amount_usd),
    expiry: big(row.expiry),
    depositAddress: row.deposit_address as Address,
    acceptedTokens: tokenList(row.accepted_tokens),
    receivedUsd: big(row.received_usd),
    remainingUsd: big(row.remaining_usd),
    excessUsd: big(row.excess_usd),
    token: (row.token as Address | null) ?? null,
    paidAmount: big(row.paid_amount),
    otherDeposits: (JSON.parse(row.other_deposits as string) as Array<{ token: Address; amount: string }>).map(({ token, amount }) => ({
      token,
      amount: BigInt(amount),
    })),
    fee: big(row.fee),
    refundedAmount: big(row.refunded_amount),
    refundRequested: big(row.refund_requested),
    depositsReturned: big(row.deposits_returned),
    refunds: recordsFrom(row.refunds),
    returnedTransfers: recordsFrom(row.returned_transfers),
    unacceptedTransfers: recordsFrom(row.unaccepted_transfers),
    completedBlock: num(row.completed_block),
    expiredBlock: num(row.expired_block),
    depositAddressFunded: rowBoolean(row.deposit_address_funded),
    fundedByExpiry: rowBoolean(row.funded_by_expiry),
    nativeWaiting: big(row.native_waiting),
    failedTransactions: Number(row.failed_transactions),
    cursor: cursorBlock === null ? null : { blockNumber: cursorBlock, logIndex: Number(row.cursor_log_index) },
  };
}

/** The registration a payment row was created from. */
export function registrationFromRow(row: Row): PaymentRegistration {
  return {
    chainId: Number(row.chain_id),
    id: row.id as Hex,
    merchant: row.merchant as Address,
    amountUsd: big(row.amount_usd),
    expiry: big(row.expiry),
    refundTo: row.refund_to as Address,
    acceptedTokenMask: big(row.accepted_token_mask),
    acceptedTokens: tokenList(row.accepted_tokens),
    signature: row.signature as Hex,
    depositAddress: row.deposit_address as Address,
  };
}

/** The columns of a payment row that hold its registered terms. */
export function registrationColumns(registration: PaymentRegistration) {
  return {
    chain_id: registration.chainId,
    id: registration.id,
    merchant: registration.merchant,
    amount_usd: registration.amountUsd.toString(),
    expiry: registration.expiry.toString(),
    refund_to: registration.refundTo,
    accepted_token_mask: registration.acceptedTokenMask.toString(),
    accepted_tokens: registration.acceptedTokens.join(","),
    signature: registration.signature,
    deposit_address: registration.depositAddress,
  };
}

/** The machine's columns of a payment row, amounts as decimal strings (for jsonb_to_recordset). */
export function stateColumns(payment: Payment) {
  return {
    id: payment.id,
    status: payment.status,
    previous_status: payment.previousStatus,
    sequence: payment.sequence,
    received_usd: payment.receivedUsd.toString(),
    remaining_usd: payment.remainingUsd.toString(),
    excess_usd: payment.excessUsd.toString(),
    token: payment.token,
    paid_amount: payment.paidAmount.toString(),
    other_deposits: JSON.stringify(payment.otherDeposits.map(({ token, amount }) => ({ token, amount: amount.toString() }))),
    fee: payment.fee.toString(),
    refunded_amount: payment.refundedAmount.toString(),
    refund_requested: payment.refundRequested.toString(),
    deposits_returned: payment.depositsReturned.toString(),
    refunds: recordsJson(payment.refunds),
    returned_transfers: recordsJson(payment.returnedTransfers),
    unaccepted_transfers: recordsJson(payment.unacceptedTransfers),
    completed_block: payment.completedBlock,
    expired_block: payment.expiredBlock,
    deposit_address_funded: payment.depositAddressFunded,
    funded_by_expiry: payment.fundedByExpiry,
    native_waiting: payment.nativeWaiting.toString(),
    failed_transactions: payment.failedTransactions,
    cursor_block: payment.cursor?.blockNumber ?? null,
    cursor_log_index: payment.cursor?.logIndex ?? null,
  };
}
