import type { Outcome, StoredTruth } from "./storedTruth";

/** A payment of a history, as the checks name it. */
export interface CheckedPayment {
  id: string;
  label: string;
  /** What the escrow's record says it must come to (`escrowOutcome`). */
  escrow: Outcome;
  /** Whether a reorganisation took one of its transactions out of the chain (its announcements may then differ). */
  reorganised: boolean;
}

const OUTCOME_FIELDS = ["status", "receivedUsd", "paidAmount", "excessUsd", "refundedAmount", "token", "otherDeposits"] as const;

const PAID_FAMILY = new Set(["paid", "refunding", "partially_refunded", "refunded"]);
/** The words a merchant ships or cancels on: announced only when the chain settled them. */
const MONEY_WORDS = new Set(["paid", "expired", "failed"]);
const familyOf = (status: string) => (PAID_FAMILY.has(status) ? "paid" : status);

function outcomeDifferences(actual: Outcome, expected: Outcome): string[] {
  return OUTCOME_FIELDS.filter((field) => actual[field] !== expected[field]).map(
    (field) => `${field} ${String(actual[field]) || "none"} ≠ ${String(expected[field]) || "none"}`,
  );
}

const show = (changes: readonly { from: string; to: string; reason: string }[]) => changes.map((c) => `${c.from}→${c.to} (${c.reason})`).join(", ") || "none";

/** What is wrong with the announcements of one stored payment on their own: gaps, repeats, outbox and status out of step. */
function announcementViolations(truth: StoredTruth): string[] {
  const found: string[] = [];
  const { changes, outbox } = truth;
  changes.forEach((change, i) => {
    if (change.sequence !== i + 1) found.push(`change ${i + 1} has sequence ${change.sequence}`);
    const before = i === 0 ? "initiated" : changes[i - 1].to;
    if (change.from !== before) found.push(`change ${change.sequence} is from ${change.from}, but the payment was ${before}`);
  });
  if (truth.sequence !== changes.length) found.push(`its sequence is ${truth.sequence}, with ${changes.length} changes`);
  const last = changes.length === 0 ? "initiated" : changes[changes.length - 1].to;
  if (last !== truth.status) found.push(`its status is ${truth.status}, its last change says ${last}`);
  const announced = outbox.map(({ type, change }) => `${type} ${change.sequence} ${change.from}→${change.to} ${change.reason}`);
  const expected = changes.map((change) => `payment.${change.to} ${change.sequence} ${change.from}→${change.to} ${change.reason}`);
  if (JSON.stringify(announced) !== JSON.stringify(expected)) found.push(`outbox [${announced.join("; ")}] ≠ status changes [${expected.join("; ")}]`);
  return found;
}

/**
 * Every way the indexer under test (`main`, which lived through the history) failed the truth about the history's
 * payments, against the reference (`reference`: the same payments indexed once over the final chain) and the escrow:
 * 1. each payment's outcome (status, amounts and token of the escrow's record, and what it still holds in its other
 *    accepted tokens: held until the keeper sends it back, then none) equals the reference's and the escrow's, and the
 *    reference's the escrow's;
 * 2. its announcements run 1..n without gaps, one outbox event each, in step with its status; no money word was ever
 *    announced that the reference's outcome does not bear out, and none was left again; and where no reorganisation
 *    touched the payment, and no log of it came to the indexer after an off-chain event it precedes, the announcements
 *    are the reference's exactly.
 */
export function truthViolations(
  payments: readonly CheckedPayment[],
  main: ReadonlyMap<string, StoredTruth>,
  reference: ReadonlyMap<string, StoredTruth>,
): string[] {
  const found: string[] = [];
  for (const payment of payments) {
    const say = (what: string) => found.push(`${payment.label}: ${what}`);
    const ours = main.get(payment.id);
    const theirs = reference.get(payment.id);
    if (!ours || !theirs) {
      say(`not stored (indexer: ${Boolean(ours)}, reference: ${Boolean(theirs)})`);
      continue;
    }
    const againstReference = outcomeDifferences(ours, theirs);
    if (againstReference.length > 0) say(`differs from the reference: ${againstReference.join(", ")}`);
    const againstEscrow = outcomeDifferences(ours, payment.escrow);
    if (againstEscrow.length > 0) say(`differs from the escrow's record: ${againstEscrow.join(", ")}`);
    const referenceAgainstEscrow = outcomeDifferences(theirs, payment.escrow);
    if (referenceAgainstEscrow.length > 0) say(`the reference differs from the escrow's record: ${referenceAgainstEscrow.join(", ")}`);

    for (const problem of announcementViolations(ours)) say(problem);
    for (const problem of announcementViolations(theirs)) say(`the reference: ${problem}`);

    let settled: string | undefined;
    for (const change of ours.changes) {
      if (MONEY_WORDS.has(familyOf(change.to)) && familyOf(change.to) !== familyOf(theirs.status)) {
        say(`announced ${change.to} (change ${change.sequence}, ${change.reason}), but the chain settled it ${theirs.status}`);
      }
      if (settled !== undefined && familyOf(change.to) !== settled) {
        say(`announced ${settled} and then left it: change ${change.sequence} to ${change.to} (${change.reason})`);
      }
      if (MONEY_WORDS.has(familyOf(change.to))) settled = familyOf(change.to);
    }

    const touched =
      payment.reorganised || ours.learntLate || ours.changes.some((change) => change.reason === "chain_reorganised" || change.reason === "late_log");
    if (!touched && show(ours.changes) !== show(theirs.changes)) {
      say(`announced ${show(ours.changes)}; the reference: ${show(theirs.changes)}`);
    }
  }
  return found;
}
