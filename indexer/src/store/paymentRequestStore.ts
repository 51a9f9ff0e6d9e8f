import { createHash } from "node:crypto";
import { CompiledQuery, type RawBuilder, sql } from "kysely";
import type { Hex } from "viem";
import type { HistoryEntry, Mode, PaymentOption, PaymentRequestDetails } from "../payments/paymentResource";
import { newPayment, type Payment } from "../payments/payment";
import type { PaymentStatus } from "../payments/statuses";
import { jsonWithBigints } from "./eventData";
import type { PaymentRegistration } from "../payments/paymentRegistration";
import { paymentFromRow, registrationColumns, registrationFromRow, stateColumns } from "./paymentRows";
import type { Db } from "./paymentStore";
import { rememberedRow, type RememberedResponse } from "./idempotencyStore";
import { preparedOnce } from "./preparedStatements";

/** A payment the API created: its state, its signed terms and what the merchant asked for. */
export interface PaymentRecord {
  merchantId: string;
  mode: Mode;
  payment: Payment;
  registration: PaymentRegistration;
  request: PaymentRequestDetails;
  updatedAt: Date;
}

/** What the API stores with a new payment: the merchant's request, whose it is and under which id. */
export interface NewPaymentRequest extends Omit<PaymentRequestDetails, "createdAt"> {
  chainId: number;
  paymentId: Hex;
  merchantId: string;
  mode: Mode;
}

/**
 * Stores a payment the API just created: its row, the merchant's request and its `payment.created` outbox event, in
 * one statement (atomic on its own, and one round trip). The id is new and random, so the chain cannot hold events
 * of it yet and there is nothing to replay, unlike `registerPayment`. With `remembered`, the same statement claims
 * the request's Idempotency-Key with its response; if the key is taken, it fails whole (`isKeyTaken`).
 */
export async function insertApiPayment(
  db: Db,
  registration: PaymentRegistration,
  request: NewPaymentRequest,
  createdAt: Date,
  remembered?: RememberedResponse,
): Promise<Payment> {
  const payment = newPayment(registration);
  const row: Record<string, unknown> = {
    ...stateColumns(payment),
    ...registrationColumns(registration),
    // The list's owner and order beside its filters (migration 007): the request's, never changed after.
    merchant_id: request.merchantId,
    mode: request.mode,
    created_at: createdAt,
    updated_at: createdAt,
  };
  const requestRow: Record<string, unknown> = {
    chain_id: request.chainId,
    payment_id: request.paymentId,
    merchant_id: request.merchantId,
    mode: request.mode,
    description: request.description,
    order_id: request.orderId,
    metadata: JSON.stringify(request.metadata),
    options: JSON.stringify(request.options),
    success_url: request.successUrl,
    cancel_url: request.cancelUrl,
    created_at: createdAt,
  };
  const outboxRow = { chain_id: registration.chainId, payment_id: registration.id, type: "payment.created", data: jsonWithBigints({ change: null, payment }) };
  const rows: Array<[string, Record<string, unknown>]> = [
    ...(remembered ? [["idempotency_keys", rememberedRow(remembered)] as [string, Record<string, unknown>]] : []),
    ["payments", row],
    ["payment_requests", requestRow],
    ["outbox", outboxRow],
  ];
  const parameters: unknown[] = [];
  for (const [, source] of rows) for (const name in source) parameters.push(source[name]);
  await db.executeQuery(CompiledQuery.raw(creationText(rows), parameters));
  return payment;
}

/** The last text `creationText` wrote for each shape (with a key or without), with the column names it was for. */
const creationTexts = new Map<number, { names: string[]; text: string }>();

/**
 * The statement inserting each of `rows` into its table, the last after the others' CTEs; its parameters are the
 * rows' values in the order of their keys. Text and parameters written out rather than a Kysely tree or template: this is the API's
 * hottest statement, and building and compiling either cost a tenth of a creation's CPU (bench:api). The column
 * names are the code's own and the same for every payment, so the text is one of two (with a key or without), written
 * once and prepared once per connection (`preparedOnce`, named by its hash: a text rewritten is another statement);
 * it is written again only if the names differ from the last call's.
 */
function creationText(rows: ReadonlyArray<[string, Record<string, unknown>]>): string {
  const names: string[] = [];
  for (const [, source] of rows) for (const name in source) names.push(name);
  const cached = creationTexts.get(rows.length);
  if (cached && cached.names.length === names.length && cached.names.every((name, i) => name === names[i])) return cached.text;
  let position = 0;
  const inserts = rows.map(([table, source]) => {
    const columns = Object.keys(source);
    return `insert into ${table} (${columns.join(", ")}) values (${columns.map(() => `$${++position}`).join(", ")})`;
  });
  const last = inserts.pop();
  const statement = `with ${inserts.map((insert, i) => `${rows[i][0]}_written as (${insert})`).join(", ")} ${last}`;
  const text = preparedOnce(`create_payment_${createHash("sha1").update(statement).digest("hex").slice(0, 16)}`, statement);
  creationTexts.set(rows.length, { names, text });
  return text;
}

const parsed = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);

function selectRecords(db: Db, chainId: number) {
  return db
    .selectFrom("payment_requests as r")
    .innerJoin("payments as p", (join) => join.onRef("p.chain_id", "=", "r.chain_id").onRef("p.id", "=", "r.payment_id"))
    .selectAll("p")
    .select([
      "r.merchant_id",
      "r.mode",
      "r.description",
      "r.order_id",
      "r.metadata",
      "r.options",
      "r.success_url",
      "r.cancel_url",
      "r.created_at as requested_at",
    ])
    .where("r.chain_id", "=", chainId);
}

type RecordRow = Awaited<ReturnType<ReturnType<typeof selectRecords>["execute"]>>[number];

function recordFromRow(row: RecordRow): PaymentRecord {
  return {
    merchantId: row.merchant_id,
    mode: row.mode as Mode,
    payment: paymentFromRow(row),
    registration: registrationFromRow(row),
    request: {
      description: row.description,
      orderId: row.order_id,
      metadata: parsed(row.metadata) as Record<string, string>,
      options: parsed(row.options) as PaymentOption[],
      successUrl: row.success_url,
      cancelUrl: row.cancel_url,
      createdAt: new Date(row.requested_at),
    },
    updatedAt: new Date(row.updated_at),
  };
}

/**
 * Locks a payment's row until the caller's transaction ends, so that the API's changes of one payment (refund,
 * cancel) take turns: each then reads what the one before it wrote, rather than both writing the same next sequence.
 */
export async function lockPayment(trx: Db, chainId: number, id: string): Promise<void> {
  await trx.selectFrom("payments").select("id").where("chain_id", "=", chainId).where("id", "=", id).forUpdate().execute();
}

/** The API's payments among `ids` (payments registered by other means are not the API's and are left out). */
export async function loadPaymentRecords(db: Db, chainId: number, ids: readonly string[]): Promise<Map<string, PaymentRecord>> {
  if (ids.length === 0) return new Map();
  const rows = await selectRecords(db, chainId)
    .where(sql<boolean>`r.payment_id = any(${sql.val([...new Set(ids)])}::text[])`)
    .execute();
  return new Map(rows.map((row) => [row.id, recordFromRow(row)]));
}

export interface PaymentFilter {
  merchantId: string;
  mode: Mode;
  status?: PaymentStatus[];
  createdFrom?: Date;
  createdTo?: Date;
  orderId?: string;
  /** The token that paid it (any case). */
  token?: string;
  /** Bounds of the USD amount asked, in the escrow's 18-decimal units, both inclusive. */
  amountMin?: bigint;
  amountMax?: bigint;
  /** A prefix of the payment's id, its deposit address (either in any case) or its order id. */
  prefix?: string;
  /** The last payment of the previous page: the next page starts after it (newest first). */
  after?: { createdAt: Date; id: string };
  limit: number;
}

/** A search matching at most this many payments on each side is looked up by its indexes (`searchMatches`). */
const SEARCH_LOOKUP_LIMIT = 1000;

/**
 * The payments a prefix search matches (their ids; some may be other merchants'), found through each side's index
 * (migration 006), or undefined when a side matches more than `lookupLimit`. An `or` across the two tables can use
 * none of the indexes: the list would then read the merchant's payments newest first until a page matches, which is
 * quick when many match and reads them all when few do; looked up, few matches cost a few index reads.
 */
async function searchMatches(db: Db, chainId: number, filter: PaymentFilter, escaped: string, lookupLimit: number): Promise<string[] | undefined> {
  const lower = `${escaped.toLowerCase()}%`;
  const sides = await Promise.all([
    db
      .selectFrom("payments")
      .select("id")
      .where("chain_id", "=", chainId)
      .where("id", "like", lower)
      .limit(lookupLimit + 1)
      .execute(),
    db
      .selectFrom("payments")
      .select("id")
      .where("chain_id", "=", chainId)
      .where(sql<boolean>`lower(deposit_address) like ${lower}`)
      .limit(lookupLimit + 1)
      .execute(),
    db
      .selectFrom("payment_requests")
      .select("payment_id as id")
      .where("merchant_id", "=", filter.merchantId)
      .where("mode", "=", filter.mode)
      .where("order_id", "like", `${escaped}%`)
      .limit(lookupLimit + 1)
      .execute(),
  ]);
  if (sides.some((rows) => rows.length > lookupLimit)) return undefined;
  return [...new Set(sides.flat().map((row) => row.id))];
}

/**
 * Whether the payment's request matches `condition` (on `r`): the filters that are the request's. The owner is
 * repeated so that an order id is found through the merchant's index (`payment_requests_by_order_prefix`).
 */
const requestWhere = (filter: PaymentFilter, condition: RawBuilder<unknown>) =>
  sql<boolean>`exists (select from payment_requests r where r.chain_id = p.chain_id and r.payment_id = p.id
    and r.merchant_id = ${filter.merchantId} and r.mode = ${filter.mode} and ${condition})`;

/**
 * A merchant's payments, newest first, filtered and paged by a (created_at, id) cursor. The page's ids are found in
 * `payments` alone, where the order and the filters are side by side in one index (migration 007), so a filter
 * matching few payments walks index entries, not rows; then the page's records are read. `searchLookupLimit` is for
 * tests: both ways of searching find the same payments.
 */
export async function listPaymentRecords(db: Db, chainId: number, filter: PaymentFilter, searchLookupLimit = SEARCH_LOOKUP_LIMIT): Promise<PaymentRecord[]> {
  let page = db
    .selectFrom("payments as p")
    .select(["p.id", "p.created_at"])
    .where("p.chain_id", "=", chainId)
    .where("p.merchant_id", "=", filter.merchantId)
    .where("p.mode", "=", filter.mode);
  if (filter.status?.length) page = page.where("p.status", "in", filter.status);
  if (filter.createdFrom) page = page.where("p.created_at", ">=", filter.createdFrom);
  if (filter.createdTo) page = page.where("p.created_at", "<", filter.createdTo);
  if (filter.orderId !== undefined) page = page.where(requestWhere(filter, sql`r.order_id = ${filter.orderId}`));
  if (filter.token !== undefined) page = page.where(sql<boolean>`lower(p.token) = ${filter.token.toLowerCase()}`);
  if (filter.amountMin !== undefined) page = page.where("p.amount_usd", ">=", filter.amountMin.toString());
  if (filter.amountMax !== undefined) page = page.where("p.amount_usd", "<=", filter.amountMax.toString());
  if (filter.prefix) {
    // The text itself, not a pattern: its %, _ and \ match only themselves. Each side has an index (migration 006).
    const escaped = filter.prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
    const matches = await searchMatches(db, chainId, filter, escaped, searchLookupLimit);
    if (matches?.length === 0) return [];
    const lower = `${escaped.toLowerCase()}%`;
    page = matches
      ? page.where(sql<boolean>`p.id = any(${sql.val(matches)}::text[])`)
      : page.where(
          sql<boolean>`(p.id like ${lower} or lower(p.deposit_address) like ${lower} or ${requestWhere(filter, sql`r.order_id like ${`${escaped}%`}`)})`,
        );
  }
  if (filter.after) {
    const { createdAt, id } = filter.after;
    page = page.where(sql<boolean>`(p.created_at, p.id) < (${createdAt}, ${id})`);
  }
  const pageIds = page.orderBy("p.created_at", "desc").orderBy("p.id", "desc").limit(filter.limit);
  const rows = await selectRecords(db, chainId)
    .innerJoin(pageIds.as("page"), "page.id", "r.payment_id")
    .orderBy("page.created_at", "desc")
    .orderBy("page.id", "desc")
    .execute();
  return rows.map(recordFromRow);
}

/** The transactions that touched each payment, oldest first. */
export async function transactionsOf(db: Db, chainId: number, ids: readonly string[]): Promise<Map<string, Hex[]>> {
  const found = new Map<string, Hex[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return found;
  const rows = await db
    .selectFrom("payment_events")
    .select(["payment_id", "transaction_hash"])
    .where("chain_id", "=", chainId)
    .where(sql<boolean>`payment_id = any(${sql.val([...new Set(ids)])}::text[])`)
    .where("transaction_hash", "is not", null)
    .orderBy("block_number")
    .orderBy("log_index")
    .execute();
  for (const row of rows) {
    const list = found.get(row.payment_id)!;
    const hash = row.transaction_hash as Hex;
    if (!list.includes(hash)) list.push(hash);
  }
  return found;
}

/** The customer's transactions a checkout reported reverted for a payment (checked on chain), oldest first. */
export async function failedTransactionsOf(db: Db, chainId: number, id: string): Promise<Array<{ transactionHash: Hex; reason: string }>> {
  const rows = await db
    .selectFrom("payment_events")
    .select(["transaction_hash", "data"])
    .where("chain_id", "=", chainId)
    .where("payment_id", "=", id)
    .where("kind", "=", "transaction_failed")
    .orderBy("id")
    .execute();
  return rows.map((row) => ({ transactionHash: row.transaction_hash as Hex, reason: (row.data as { reason: string }).reason }));
}

/** A status_changes row (or the same fields aggregated to JSON) as a history entry. */
function historyEntryFromRow(row: {
  sequence: number;
  from_status: string;
  to_status: string;
  reason: string;
  transaction_hash: string | null;
  block_number: string | number | bigint | null;
  created_at: Date | string | number;
}): HistoryEntry {
  return {
    sequence: row.sequence,
    from: row.from_status as PaymentStatus,
    to: row.to_status as PaymentStatus,
    reason: row.reason,
    transaction_hash: (row.transaction_hash as Hex | null) ?? null,
    block_number: row.block_number === null ? null : Number(row.block_number),
    at: new Date(row.created_at).toISOString(),
  };
}

/** A payment's status changes with their times, in order. */
export async function historyOf(db: Db, chainId: number, id: string): Promise<HistoryEntry[]> {
  const rows = await db
    .selectFrom("status_changes")
    // Not the announcement the row may still carry for the webhook dispatcher: a whole payment, of no use here.
    .select(["sequence", "from_status", "to_status", "reason", "transaction_hash", "block_number", "created_at"])
    .where("chain_id", "=", chainId)
    .where("payment_id", "=", id)
    .orderBy("sequence")
    .execute();
  return rows.map(historyEntryFromRow);
}

/** One API payment with all its resource shows: the record, its transactions, its history and the checkpoint. */
export interface PaymentDetail {
  record: PaymentRecord;
  transactions: Hex[];
  history: HistoryEntry[];
  /** The indexer's checkpoint block (undefined before its first). */
  checkpointBlock: number | undefined;
}

/**
 * One API payment with its transactions, history and the indexer's checkpoint, in one statement: GET
 * /v1/payments/:id's whole read in one round trip rather than four (bench:api).
 */
export async function loadPaymentDetail(db: Db, chainId: number, id: string): Promise<PaymentDetail | undefined> {
  const query = selectRecords(db, chainId)
    .where("r.payment_id", "=", id)
    .select([
      sql<string[] | string | null>`(select json_agg(e.transaction_hash order by e.block_number, e.log_index) from payment_events e
        where e.chain_id = r.chain_id and e.payment_id = r.payment_id and e.transaction_hash is not null)`.as("transaction_hashes"),
      // Times as whole milliseconds since the epoch: what the separate query's timestamps parse to (no rounding).
      sql<unknown>`(select json_agg(json_build_object('sequence', s.sequence, 'from_status', s.from_status, 'to_status', s.to_status,
          'reason', s.reason, 'transaction_hash', s.transaction_hash, 'block_number', s.block_number,
          'created_at', floor(extract(epoch from s.created_at) * 1000)) order by s.sequence)
        from status_changes s where s.chain_id = r.chain_id and s.payment_id = r.payment_id)`.as("history"),
      sql<string | number | null>`(select c.block_number from checkpoints c where c.chain_id = r.chain_id)`.as("checkpoint_block"),
    ])
    .compile();
  // The same text for every payment: prepared once per connection, as the API reads it on every GET.
  const prepared: typeof query = { ...query, sql: preparedOnce("payment_detail", query.sql) };
  const [row] = (await db.executeQuery(prepared)).rows;
  if (!row) return undefined;
  const history = (parsed(row.history) ?? []) as Parameters<typeof historyEntryFromRow>[0][];
  return {
    record: recordFromRow(row),
    // Each hash once, where it first appears, as transactionsOf lists them.
    transactions: [...new Set((parsed(row.transaction_hashes) ?? []) as Hex[])],
    history: history.map((entry) => historyEntryFromRow({ ...entry, created_at: Number(entry.created_at) })),
    checkpointBlock: row.checkpoint_block === null ? undefined : Number(row.checkpoint_block),
  };
}
