import { zeroAddress, type Address, type Hex } from "viem";

/**
 * A model of OpenPayEscrow's payment state and of the token balances around it, for a simulated chain and for the
 * differential test against the contract (test/differentialModel.test.ts). Pure: an action and a state give a new
 * state and the events the real escrow (and the tokens it moves) would emit, or a revert. It follows
 * docs/contracts.md and contracts/OpenPayEscrow.sol: payments, deposits, refunds, strays, deposit-address balances,
 * merchants' balances, the platform fee, withdrawals, claims and stale prices. It leaves out signatures and pausing
 * (every intent counts as signed) and administration other than the fee and tolerances (`changeConfig`). Pushes fail
 * only to the accounts the configuration says refuse BNB. Each token an intent accepts adds up apart (docs/contracts.md,
 * "token-choice"): the record holds the first deposit's token until another token pays the payment, and deposits in the
 * tokens that did not pay it go back with `expire(intent, token, payers)` and `refundDepositAddress` once it is paid or
 * expired.
 *
 * Addresses and payment ids are kept lowercase; every amount has 18 decimals (USD and tokens alike).
 */

/** `IOpenPayEscrow.Status`, by its number on chain. */
export const STATUS = { None: 0, Open: 1, Completed: 2, Expired: 3, PartiallyRefunded: 4, Refunded: 5 } as const;
export type StatusCode = (typeof STATUS)[keyof typeof STATUS];

/** A payment intent as the escrow takes it, with the deposit address the test chose for it (nothing derives it). */
export interface Intent {
  paymentId: Hex;
  merchant: Address;
  amountUsd: bigint;
  /** Unix seconds after which deposits revert and the payment can be expired. */
  expiry: bigint;
  /** Where deposit refunds go; the zero address sends each back to its payer. */
  refundTo: Address;
  /** The tokens the payment accepts: bit `i` set accepts the token at index `i` (`EscrowConfig.tokenIndexes`). */
  acceptedTokens: bigint;
  depositAddress: Address;
}

export interface EscrowConfig {
  escrow: Address;
  /** USD per whole token (18 decimals) of each allowed token, BNB being the zero address: no price, not allowed. */
  prices: ReadonlyMap<Address, bigint>;
  /** Each allowed token's index (`tokenAt`, from 1): its bit in an intent's `acceptedTokens`. */
  tokenIndexes: ReadonlyMap<Address, number>;
  /** Each allowed token's tolerance (its own, as the escrow keeps it). */
  toleranceBps: ReadonlyMap<Address, bigint>;
  lateCollectWindow: bigint;
  /** The longest time to live a payment may have at its first deposit, in seconds (`maxTtlHours`; 24 h by default). */
  maxTtl: bigint;
  /** The platform fee in basis points, taken from each completed payment; none when absent. */
  feeBps?: bigint;
  /** Where `withdrawFees` sends the fees; none set when absent. */
  treasury?: Address;
  /** Each registered merchant's payout wallet: where `withdraw` sends. */
  payouts?: ReadonlyMap<Address, Address>;
  /** Accounts that refuse BNB: a refund pushed to one becomes claimable, a withdrawal or claim sent to one reverts. */
  refusesNative?: ReadonlySet<Address>;
  /** When each token's price was written and how old it may be (`maxStaleness`); a token not here is always fresh. */
  priceTimes?: ReadonlyMap<Address, { updatedAt: bigint; maxStaleness: bigint }>;
}

/** What the model does. `byOperator` says whether the caller holds OPERATOR_ROLE (the keeper does). */
export type EscrowAction =
  /**
   * `pay`, or `payNative` when `token` is the zero address, sent by `payer`; the deposit is recorded for
   * `beneficiary` when it names one (not the zero address), else for `payer`.
   */
  | { kind: "pay"; intent: Intent; payer: Address; token: Address; amount: bigint; beneficiary?: Address }
  /** A plain ERC-20 transfer (a `Transfer` log by the token); the sender's funds are unlimited. */
  | { kind: "transfer"; token: Address; from: Address; to: Address; amount: bigint }
  /** BNB sent to an address: no log, only a balance. */
  | { kind: "sendNative"; to: Address; amount: bigint }
  | { kind: "collect"; intent: Intent; token: Address; byOperator?: boolean }
  /** `expire(intent, token, payers)`: expires an open payment past its expiry, refunds the payers' deposits in `token`. */
  | { kind: "expire"; intent: Intent; token: Address; payers: readonly Address[]; byOperator?: boolean }
  | { kind: "refundDepositAddress"; intent: Intent; token: Address; to: Address; amount: bigint; byOperator?: boolean }
  /** A merchant's refund of a paid payment, sent by `merchant` (by default the payment's). */
  | { kind: "refund"; paymentId: Hex; to: Address; amount: bigint; merchant?: Address }
  | { kind: "returnStray"; intent: Intent; token: Address; to: Address; byOperator?: boolean }
  /** A merchant's withdrawal from its balance to its payout wallet. */
  | { kind: "withdraw"; merchant: Address; token: Address; amount: bigint }
  /** `claim(token, to)` sent by `account`: the refunds that could not be pushed to it. */
  | { kind: "claim"; account: Address; token: Address; to: Address }
  /** `withdrawFees(token)`: the fees to the treasury (anyone may send it). */
  | { kind: "withdrawFees"; token: Address };

/** Deposits by token, then by payer (or the beneficiary it named). */
export type TokenDeposits = ReadonlyMap<Address, ReadonlyMap<Address, bigint>>;

/** One payment as the model holds it. */
export interface ModelPayment {
  status: StatusCode;
  /** The intent the payment was opened with: later deposits, expiries and refunds must repeat it. */
  intent: Intent;
  /**
   * The token of its record (the zero address for BNB): while open, that of its first deposit; once paid, the one
   * that paid it.
   */
  token: Address;
  /** Token units deposited in total in `token`. */
  amount: bigint;
  /** USD value of those units at the price of the latest deposit in `token`. */
  receivedUsd: bigint;
  /** `_otherTokenAmounts`: units received in each accepted token other than the record's while it was open. */
  otherAmounts: ReadonlyMap<Address, bigint>;
  /**
   * `_deposits`: each payer's deposits by token, until refunded. Those in the token that paid a paid payment are the
   * merchant's (`depositOf` answers zero for them); a completing deposit records none.
   */
  deposits: TokenDeposits;
  /** `_leftoverDigests` is set: the payment took a deposit in a token other than its record's, refundable once paid. */
  leftovers: boolean;
  /** Token units the merchant refunded. */
  refunded: bigint;
}

export interface EscrowState {
  payments: ReadonlyMap<Hex, ModelPayment>;
  /** Balances by `balanceKey(token, account)`. */
  balances: ReadonlyMap<string, bigint>;
  /** What the escrow owes besides deposits: merchants' balances, claimable refunds and fees, by `merchantKey`, `claimKey` and `feesKey`. */
  owed: ReadonlyMap<string, bigint>;
}

/** An event as the escrow or a token emits it, its arguments by their ABI names. */
export type ModelEvent =
  | {
      name: "PaymentDeposited";
      emitter: Address;
      args: { paymentId: Hex; merchant: Address; payer: Address; token: Address; amount: bigint; valueUsd: bigint; receivedUsd: bigint; remainingUsd: bigint };
    }
  | {
      name: "PaymentCompleted";
      emitter: Address;
      args: {
        paymentId: Hex;
        merchant: Address;
        payer: Address;
        token: Address;
        amount: bigint;
        valueUsd: bigint;
        receivedUsd: bigint;
        excessUsd: bigint;
        fee: bigint;
      };
    }
  | { name: "PaymentExpired"; emitter: Address; args: { paymentId: Hex; token: Address; amount: bigint; receivedUsd: bigint } }
  | { name: "DepositRefunded"; emitter: Address; args: { paymentId: Hex; payer: Address; to: Address; token: Address; amount: bigint } }
  | {
      name: "PaymentRefunded";
      emitter: Address;
      args: { paymentId: Hex; merchant: Address; to: Address; token: Address; amount: bigint; refundedTotal: bigint };
    }
  | { name: "StrayReturned"; emitter: Address; args: { paymentId: Hex; depositAddress: Address; to: Address; token: Address; amount: bigint } }
  | { name: "RefundClaimable"; emitter: Address; args: { paymentId: Hex; account: Address; token: Address; amount: bigint } }
  | { name: "RefundClaimed"; emitter: Address; args: { account: Address; to: Address; token: Address; amount: bigint } }
  | { name: "Withdrawn"; emitter: Address; args: { merchant: Address; payout: Address; token: Address; amount: bigint } }
  | { name: "FeesWithdrawn"; emitter: Address; args: { treasury: Address; token: Address; amount: bigint } }
  | { name: "Transfer"; emitter: Address; args: { from: Address; to: Address; value: bigint } };

export type ActionOutcome =
  | { reverted: false; state: EscrowState; events: ModelEvent[] }
  /** The contract's error name (and what failed): the transaction is mined, with no logs and no state change. */
  | { reverted: true; reason: string };

const BPS = 10_000n;
const USD_UNIT = 10n ** 18n;
/** A token's tolerance when first configured (`DEFAULT_TOLERANCE_BPS`). */
const DEFAULT_TOLERANCE_BPS = 100n;
/** `MAX_TOLERANCE_BPS` and `MAX_FEE_BPS`: 5%. */
const MAX_TOLERANCE_BPS = 500n;
const MAX_FEE_BPS = 500n;
/** `DEFAULT_MAX_TTL_HOURS`, in seconds. */
export const DEFAULT_MAX_TTL = 24n * 3600n;
const UINT104_MAX = (1n << 104n) - 1n;

export const emptyEscrowState = (): EscrowState => ({ payments: new Map(), balances: new Map(), owed: new Map() });

const lower = <T extends string>(value: T): T => value.toLowerCase() as T;

/** The configuration with its addresses lowercase, as `applyAction` takes it. */
export function escrowConfig(config: EscrowConfig): EscrowConfig {
  return {
    escrow: lower(config.escrow),
    prices: new Map([...config.prices].map(([token, price]) => [lower(token), price])),
    tokenIndexes: new Map([...config.tokenIndexes].map(([token, index]) => [lower(token), index])),
    toleranceBps: new Map([...config.toleranceBps].map(([token, bps]) => [lower(token), bps])),
    lateCollectWindow: config.lateCollectWindow,
    maxTtl: config.maxTtl,
    feeBps: config.feeBps,
    treasury: config.treasury && lower(config.treasury),
    payouts: config.payouts && new Map([...config.payouts].map(([merchant, payout]) => [lower(merchant), lower(payout)])),
    refusesNative: config.refusesNative && new Set([...config.refusesNative].map(lower)),
    priceTimes: config.priceTimes && new Map([...config.priceTimes].map(([token, times]) => [lower(token), times])),
  };
}

/** An admin's change of the platform fee or of a token's tolerance. */
export type ConfigChange = { kind: "setFee"; bps: bigint } | { kind: "setTolerance"; token: Address; bps: bigint };

/** `setFee` and `setTolerance`: the configuration they leave, or the contract's error. */
export function changeConfig(config: EscrowConfig, change: ConfigChange): { reverted: false; config: EscrowConfig } | { reverted: true; reason: string } {
  if (change.kind === "setFee") {
    if (change.bps > MAX_FEE_BPS) return { reverted: true, reason: "FeeTooHigh" };
    if (change.bps !== 0n && (config.treasury ?? zeroAddress) === zeroAddress) return { reverted: true, reason: "ZeroAddress" };
    return { reverted: false, config: { ...config, feeBps: change.bps } };
  }
  if (change.bps > MAX_TOLERANCE_BPS) return { reverted: true, reason: "ToleranceTooHigh" };
  const token = lower(change.token);
  if (!config.tokenIndexes.has(token)) return { reverted: true, reason: "TokenNotAllowed" };
  return { reverted: false, config: { ...config, toleranceBps: new Map(config.toleranceBps).set(token, change.bps) } };
}

/** An intent's `acceptedTokens` for these tokens (each must have an index in `tokenIndexes`). */
export function acceptedMask(tokenIndexes: ReadonlyMap<Address, number>, tokens: Iterable<Address>): bigint {
  let mask = 0n;
  for (const token of tokens) {
    const index = [...tokenIndexes].find(([known]) => lower(known) === lower(token))?.[1];
    if (index === undefined) throw new Error(`model: token ${token} has no index`);
    mask |= 1n << BigInt(index);
  }
  return mask;
}

/** `_accepts`: whether the escrow takes deposits in `token` (it has a price) and the intent accepts it. */
export function accepts(config: EscrowConfig, intent: Intent, token: Address): boolean {
  const index = config.tokenIndexes.get(lower(token));
  return config.prices.has(lower(token)) && index !== undefined && ((intent.acceptedTokens >> BigInt(index)) & 1n) === 1n;
}

export const balanceKey = (token: Address, account: Address): string => `${lower(token)}:${lower(account)}`;

/** What `account` holds of `token` (the zero address: BNB). */
export function balanceOf(state: EscrowState, token: Address, account: Address): bigint {
  return state.balances.get(balanceKey(token, account)) ?? 0n;
}

export function paymentOf(state: EscrowState, paymentId: Hex): ModelPayment | undefined {
  return state.payments.get(lower(paymentId));
}

const merchantKey = (merchant: Address, token: Address): string => `merchant:${lower(token)}:${lower(merchant)}`;
const claimKey = (token: Address, account: Address): string => `claim:${lower(token)}:${lower(account)}`;
const feesKey = (token: Address): string => `fees:${lower(token)}`;

/** `balanceOf(merchant, token)`: the merchant's balance in the escrow. */
export const merchantBalanceOf = (state: EscrowState, merchant: Address, token: Address): bigint => state.owed.get(merchantKey(merchant, token)) ?? 0n;

/** `claimableOf(token, account)`. */
export const claimableOf = (state: EscrowState, token: Address, account: Address): bigint => state.owed.get(claimKey(token, account)) ?? 0n;

/** `ledgerOf(token).fees`: the platform fees due to the treasury. */
export const feesOf = (state: EscrowState, token: Address): bigint => state.owed.get(feesKey(token)) ?? 0n;

const PAID_STATUSES: ReadonlySet<StatusCode> = new Set([STATUS.Completed, STATUS.PartiallyRefunded, STATUS.Refunded]);

/** Whether the escrow counts the payment as paid (Completed, PartiallyRefunded, Refunded). */
export const isPaid = (payment: ModelPayment): boolean => PAID_STATUSES.has(payment.status);

/** A payer's deposit in a token, not refunded yet, as recorded (whether or not it is refundable). */
export function depositIn(payment: ModelPayment, token: Address, payer: Address): bigint {
  return payment.deposits.get(lower(token))?.get(lower(payer)) ?? 0n;
}

/** `depositOf(paymentId, token, payer)`: zero in the token that paid a paid payment, whose deposits are the merchant's. */
export function depositOf(payment: ModelPayment | undefined, token: Address, payer: Address): bigint {
  if (!payment || payment.status === STATUS.None) return 0n;
  if (isPaid(payment) && lower(token) === payment.token) return 0n;
  return depositIn(payment, token, payer);
}

/**
 * What the payment holds in tokens other than its record's and did not send back yet, by token (lowercase, sorted,
 * none empty): the deposits in its other accepted tokens, refundable to their payers once it is paid or expired.
 */
export function heldApart(payment: ModelPayment | undefined): Array<{ token: Address; amount: bigint }> {
  if (!payment) return [];
  const held: Array<{ token: Address; amount: bigint }> = [];
  for (const [token, byPayer] of payment.deposits) {
    if (token === payment.token) continue;
    const amount = [...byPayer.values()].reduce((sum, each) => sum + each, 0n);
    if (amount > 0n) held.push({ token, amount });
  }
  return held.sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0));
}

/** A failed `require`: caught by `applyAction`, which turns it into a revert. */
class Revert extends Error {}

function revert(reason: string): never {
  throw new Revert(reason);
}

/** Writes over a state without touching it, so that a revert leaves the state as it was. */
class Draft {
  private readonly payments = new Map<Hex, ModelPayment>();
  private readonly balances = new Map<string, bigint>();
  private readonly owings = new Map<string, bigint>();
  readonly events: ModelEvent[] = [];

  constructor(
    private readonly base: EscrowState,
    readonly config: EscrowConfig,
    readonly timestamp: bigint,
  ) {}

  payment(paymentId: Hex): ModelPayment | undefined {
    const id = lower(paymentId);
    return this.payments.get(id) ?? this.base.payments.get(id);
  }

  setPayment(payment: ModelPayment): void {
    this.payments.set(lower(payment.intent.paymentId), payment);
  }

  balance(token: Address, account: Address): bigint {
    const key = balanceKey(token, account);
    return this.balances.get(key) ?? this.base.balances.get(key) ?? 0n;
  }

  /**
   * Moves token units between accounts, with the token's `Transfer` log. `counted`: whether the sender's balance is
   * the model's (the escrow's and deposit addresses' are; outside senders' funds are unlimited).
   */
  move(token: Address, from: Address, to: Address, amount: bigint, counted: boolean): void {
    if (counted) {
      const held = this.balance(token, from);
      // The escrow and deposit addresses only ever send what the model credited them: less is a model error.
      if (held < amount) throw new Error(`model: ${from} holds ${held} of ${token}, cannot send ${amount}`);
      this.balances.set(balanceKey(token, from), held - amount);
    }
    this.balances.set(balanceKey(token, to), this.balance(token, to) + amount);
    if (lower(token) !== zeroAddress) this.emit({ name: "Transfer", emitter: lower(token), args: { from, to, value: amount } });
  }

  /** What the escrow owes under `key` (`merchantKey`, `claimKey`, `feesKey`). */
  owed(key: string): bigint {
    return this.owings.get(key) ?? this.base.owed.get(key) ?? 0n;
  }

  addOwed(key: string, amount: bigint): void {
    this.owings.set(key, this.owed(key) + amount);
  }

  emit(event: ModelEvent): void {
    this.events.push(event);
  }

  commit(): EscrowState {
    if (this.payments.size === 0 && this.balances.size === 0 && this.owings.size === 0) return this.base;
    return {
      payments: new Map([...this.base.payments, ...this.payments]),
      balances: new Map([...this.base.balances, ...this.balances]),
      owed: new Map([...this.base.owed, ...this.owings]),
    };
  }
}

/** Lowercases an intent's addresses and id, so that equality is field by field. */
function normalIntent(intent: Intent): Intent {
  return {
    paymentId: lower(intent.paymentId),
    merchant: lower(intent.merchant),
    amountUsd: intent.amountUsd,
    expiry: intent.expiry,
    refundTo: lower(intent.refundTo),
    acceptedTokens: intent.acceptedTokens,
    depositAddress: lower(intent.depositAddress),
  };
}

/** Whether two intents hash alike (the deposit address follows from the digest). */
const sameIntent = (a: Intent, b: Intent): boolean =>
  a.paymentId === b.paymentId &&
  a.merchant === b.merchant &&
  a.amountUsd === b.amountUsd &&
  a.expiry === b.expiry &&
  a.refundTo === b.refundTo &&
  a.acceptedTokens === b.acceptedTokens &&
  a.depositAddress === b.depositAddress;

const isAllowed = (config: EscrowConfig, token: Address): boolean => config.prices.has(lower(token));

/** `_requireBoundIntent`: the intent an open or expired payment was opened with. */
function requireBoundIntent(payment: ModelPayment, intent: Intent): void {
  if (!sameIntent(payment.intent, intent)) revert("IntentMismatch");
}

/**
 * `_requireRefundable`: deposits in `token` may be sent back (the payment expired, or it was paid in another token
 * and holds deposits apart) and `intent` is the payment's.
 */
function requireRefundable(payment: ModelPayment | undefined, intent: Intent, token: Address): ModelPayment {
  if (payment?.status === STATUS.Expired) {
    requireBoundIntent(payment, intent);
    return payment;
  }
  if (!payment || !isPaid(payment) || !payment.leftovers || token === payment.token) revert("NotRefundable");
  requireBoundIntent(payment, intent);
  return payment;
}

/** The deposits with `payer`'s in `token` changed to `amount` (removed at zero). */
function withDeposit(deposits: TokenDeposits, token: Address, payer: Address, amount: bigint): TokenDeposits {
  const byPayer = new Map(deposits.get(token) ?? []);
  if (amount === 0n) byPayer.delete(payer);
  else byPayer.set(payer, amount);
  return new Map(deposits).set(token, byPayer);
}

/** `PriceMath.covers` with the token's own tolerance: whether `receivedUsd` in `token` pays the intent. */
function covers(config: EscrowConfig, intent: Intent, token: Address, receivedUsd: bigint): boolean {
  const toleranceBps = config.toleranceBps.get(token) ?? DEFAULT_TOLERANCE_BPS;
  return receivedUsd * BPS >= intent.amountUsd * (BPS - toleranceBps);
}

/** `PriceMath.freshPrice`: the feed's answer is not dated after now, nor older than the token's staleness limit. */
function requireFreshPrice(config: EscrowConfig, token: Address, timestamp: bigint): void {
  const times = config.priceTimes?.get(token);
  if (times === undefined) return;
  if (times.updatedAt > timestamp) revert("PriceFromFuture");
  if (timestamp - times.updatedAt > times.maxStaleness) revert("StalePrice");
}

/** `_deposit` and `_admit`: records a deposit, then completes the payment or keeps it open. Effects only. */
function deposit(draft: Draft, intent: Intent, token: Address, amount: bigint, payer: Address, deadline: bigint): void {
  const { config, timestamp } = draft;
  if (amount === 0n) revert("ZeroAmount");
  if (amount > UINT104_MAX) revert("AmountTooLarge");
  const price = config.prices.get(token);
  if (price === undefined) revert("TokenNotAllowed");
  if (!accepts(config, intent, token)) revert("TokenNotAccepted");
  const previous = draft.payment(intent.paymentId);
  const status = previous?.status ?? STATUS.None;
  if (status !== STATUS.None && status !== STATUS.Open) revert("InvalidPaymentStatus");
  if (timestamp > deadline) revert("DepositAfterExpiry");
  if (previous === undefined || status === STATUS.None) {
    if (intent.expiry > timestamp + config.maxTtl) revert("ExpiryTooFar");
    if (intent.paymentId.slice(0, 42) !== intent.merchant) revert("PaymentIdNotOfMerchant");
    if (intent.amountUsd === 0n) revert("ZeroPaymentAmount");
    if (intent.amountUsd > UINT104_MAX) revert("AmountTooLarge");
    if (intent.refundTo === config.escrow) revert("EscrowAsReceiver");
  } else {
    requireBoundIntent(previous, intent);
  }

  // Each accepted token adds up apart: the record holds the first deposit's token, the others are kept aside.
  const firstToken = previous === undefined || status === STATUS.None || previous.token === token;
  const held = firstToken ? (previous?.amount ?? 0n) : (previous.otherAmounts.get(token) ?? 0n);
  const total = held + amount;
  if (total > UINT104_MAX) revert("AmountTooLarge");
  requireFreshPrice(config, token, timestamp);
  const valueUsd = (amount * price) / USD_UNIT;
  // The escrow values the whole amount received in this token again at each deposit.
  const receivedUsd = (total * price) / USD_UNIT;
  if (receivedUsd > UINT104_MAX) revert("AmountTooLarge");
  const before: ModelPayment = previous ?? {
    status: STATUS.None,
    intent,
    token,
    amount: 0n,
    receivedUsd: 0n,
    otherAmounts: new Map(),
    deposits: new Map(),
    leftovers: false,
    refunded: 0n,
  };

  if (covers(config, intent, token, receivedUsd)) {
    // The first token's deposits (and any other's) stay with their payers, refundable now.
    const otherAmounts = firstToken ? before.otherAmounts : new Map(before.otherAmounts);
    if (!firstToken) (otherAmounts as Map<Address, bigint>).delete(token);
    draft.setPayment({ ...before, status: STATUS.Completed, token, amount: total, receivedUsd, otherAmounts, leftovers: before.leftovers || !firstToken });
    // Every deposit in the token that paid it is the merchant's, less the platform fee.
    const fee = (total * (config.feeBps ?? 0n)) / BPS;
    draft.addOwed(merchantKey(intent.merchant, token), total - fee);
    draft.addOwed(feesKey(token), fee);
    const excessUsd = receivedUsd > intent.amountUsd ? receivedUsd - intent.amountUsd : 0n;
    draft.emit({
      name: "PaymentCompleted",
      emitter: config.escrow,
      args: { paymentId: intent.paymentId, merchant: intent.merchant, payer, token, amount, valueUsd, receivedUsd, excessUsd, fee },
    });
    return;
  }
  const deposits = withDeposit(before.deposits, token, payer, (before.deposits.get(token)?.get(payer) ?? 0n) + amount);
  draft.setPayment(
    firstToken
      ? { ...before, status: STATUS.Open, token, amount: total, receivedUsd, deposits }
      : { ...before, otherAmounts: new Map(before.otherAmounts).set(token, total), deposits, leftovers: true },
  );
  draft.emit({
    name: "PaymentDeposited",
    emitter: config.escrow,
    args: { paymentId: intent.paymentId, merchant: intent.merchant, payer, token, amount, valueUsd, receivedUsd, remainingUsd: intent.amountUsd - receivedUsd },
  });
}

/** `_refundReceiver`: the intent's refund address, else the operator's choice. */
function refundReceiver(config: EscrowConfig, intent: Intent, to: Address, byOperator: boolean): Address {
  if (intent.refundTo !== zeroAddress && intent.refundTo !== config.escrow) return intent.refundTo;
  if (!byOperator) revert("AccessControlUnauthorizedAccount");
  if (to === zeroAddress) revert("ZeroAddress");
  if (to === config.escrow) revert("EscrowAsReceiver");
  return to;
}

/** `_collectable`: whether `token` at the deposit address could still be collected, now or later. */
function collectable(draft: Draft, intent: Intent, token: Address, byOperator: boolean): boolean {
  const until = intent.expiry + (byOperator ? 0n : draft.config.lateCollectWindow);
  if (draft.timestamp > until || intent.refundTo === draft.config.escrow) return false;
  if (!accepts(draft.config, intent, token)) return false;
  const payment = draft.payment(intent.paymentId);
  if (payment === undefined || payment.status === STATUS.None) return true;
  return payment.status === STATUS.Open && sameIntent(payment.intent, intent);
}

/**
 * `_requireExpirable`: past the expiry, and within the late-collect window, for anyone but the operator, only while
 * nothing waiting at the deposit address could complete the open payment: each accepted token's balance there,
 * together with what the payment received in that token, at its price and within its tolerance. Dust holds nothing
 * back.
 */
function requireExpirable(draft: Draft, intent: Intent, payment: ModelPayment, byOperator: boolean): void {
  const { config, timestamp } = draft;
  if (timestamp <= intent.expiry) revert("PaymentNotExpired");
  if (timestamp > intent.expiry + config.lateCollectWindow || byOperator) return;
  const byIndex = [...config.tokenIndexes].sort((a, b) => a[1] - b[1]);
  for (const [token] of byIndex) {
    if (!accepts(config, intent, token)) continue;
    const waiting = draft.balance(token, intent.depositAddress);
    if (waiting === 0n) continue;
    const held = payment.token === token ? payment.amount : (payment.otherAmounts.get(token) ?? 0n);
    // Valued as a collect would be: a price that cannot be read reverts with the feed's error.
    requireFreshPrice(config, token, timestamp);
    const receivedUsd = ((held + waiting) * config.prices.get(token)!) / USD_UNIT;
    if (covers(config, intent, token, receivedUsd)) revert("LateCollectPending");
  }
}

const refusesNative = (config: EscrowConfig, token: Address, to: Address): boolean => token === zeroAddress && (config.refusesNative?.has(to) ?? false);

/** `_pushOrCredit`: sends a refund, or, if the receiver cannot take it, owes it to the receiver as a claim. */
function push(draft: Draft, paymentId: Hex, token: Address, to: Address, amount: bigint): void {
  if (!refusesNative(draft.config, token, to)) {
    draft.move(token, draft.config.escrow, to, amount, true);
    return;
  }
  draft.addOwed(claimKey(token, to), amount);
  draft.emit({ name: "RefundClaimable", emitter: draft.config.escrow, args: { paymentId, account: to, token, amount } });
}

/** `_send`: sends to an address the caller chose, reverting if it cannot take it. */
function send(draft: Draft, token: Address, to: Address, amount: bigint): void {
  if (refusesNative(draft.config, token, to)) revert("NativeTransferFailed");
  draft.move(token, draft.config.escrow, to, amount, true);
}

/** `_requireReceiver`: not zero, and not the escrow. */
function requireReceiver(config: EscrowConfig, to: Address): void {
  if (to === zeroAddress) revert("ZeroAddress");
  if (to === config.escrow) revert("EscrowAsReceiver");
}

/** `_debit`: takes `amount` from a merchant's balance. */
function debit(draft: Draft, merchant: Address, token: Address, amount: bigint): void {
  if (amount === 0n) revert("ZeroAmount");
  if (amount > draft.owed(merchantKey(merchant, token))) revert("InsufficientMerchantBalance");
  draft.addOwed(merchantKey(merchant, token), -amount);
}

function perform(draft: Draft, action: EscrowAction): void {
  const { config, timestamp } = draft;
  switch (action.kind) {
    case "pay": {
      const intent = normalIntent(action.intent);
      const token = lower(action.token);
      const beneficiary = lower(action.beneficiary ?? zeroAddress);
      if (beneficiary === config.escrow) revert("EscrowAsReceiver");
      const payer = beneficiary === zeroAddress ? lower(action.payer) : beneficiary;
      deposit(draft, intent, token, action.amount, payer, intent.expiry);
      draft.move(token, lower(action.payer), config.escrow, action.amount, false);
      return;
    }
    case "transfer":
      if (lower(action.token) === zeroAddress) throw new Error("model: a transfer moves an ERC-20 token; use sendNative for BNB");
      draft.move(lower(action.token), lower(action.from), lower(action.to), action.amount, false);
      return;
    case "sendNative":
      draft.move(zeroAddress, zeroAddress, lower(action.to), action.amount, false);
      return;
    case "collect": {
      const intent = normalIntent(action.intent);
      const token = lower(action.token);
      const byOperator = action.byOperator ?? true;
      if (!isAllowed(config, token)) revert("TokenNotAllowed");
      const amount = draft.balance(token, intent.depositAddress);
      if (amount === 0n) revert("NothingToCollect");
      const deadline = intent.expiry + (timestamp > intent.expiry && byOperator ? config.lateCollectWindow : 0n);
      // The deposit address stands in as the payer: a plain transfer does not say who sent it.
      deposit(draft, intent, token, amount, intent.depositAddress, deadline);
      draft.move(token, intent.depositAddress, config.escrow, amount, true);
      return;
    }
    case "expire": {
      const intent = normalIntent(action.intent);
      const token = lower(action.token);
      const payment = draft.payment(intent.paymentId);
      let current: ModelPayment;
      if (payment?.status === STATUS.Open) {
        requireBoundIntent(payment, intent);
        requireExpirable(draft, intent, payment, action.byOperator ?? true);
        current = { ...payment, status: STATUS.Expired };
        draft.emit({
          name: "PaymentExpired",
          emitter: config.escrow,
          args: { paymentId: intent.paymentId, token: current.token, amount: current.amount, receivedUsd: current.receivedUsd },
        });
      } else {
        current = requireRefundable(payment, intent, token);
      }
      // Deposits collected from the deposit address cannot go back there; without a refund address the operator
      // sends them back with refundDepositAddress.
      const keptForOperator = intent.refundTo === zeroAddress ? intent.depositAddress : undefined;
      for (const payer of action.payers.map(lower)) {
        const amount = depositIn(current, token, payer);
        if (amount === 0n || payer === keptForOperator) continue;
        current = { ...current, deposits: withDeposit(current.deposits, token, payer, 0n) };
        const to = intent.refundTo === zeroAddress ? payer : intent.refundTo;
        draft.emit({ name: "DepositRefunded", emitter: config.escrow, args: { paymentId: intent.paymentId, payer, to, token, amount } });
        push(draft, intent.paymentId, token, to, amount);
      }
      draft.setPayment(current);
      return;
    }
    case "refundDepositAddress": {
      const intent = normalIntent(action.intent);
      const token = lower(action.token);
      const payment = requireRefundable(draft.payment(intent.paymentId), intent, token);
      const receiver = refundReceiver(config, intent, lower(action.to), action.byOperator ?? true);
      if (action.amount === 0n) revert("ZeroAmount");
      const deposited = depositIn(payment, token, intent.depositAddress);
      if (action.amount > deposited) revert("RefundExceedsDeposit");
      draft.setPayment({ ...payment, deposits: withDeposit(payment.deposits, token, intent.depositAddress, deposited - action.amount) });
      draft.emit({
        name: "DepositRefunded",
        emitter: config.escrow,
        args: { paymentId: intent.paymentId, payer: intent.depositAddress, to: receiver, token, amount: action.amount },
      });
      push(draft, intent.paymentId, token, receiver, action.amount);
      return;
    }
    case "refund": {
      const to = lower(action.to);
      requireReceiver(config, to);
      const payment = draft.payment(action.paymentId);
      if (payment === undefined || (payment.status !== STATUS.Completed && payment.status !== STATUS.PartiallyRefunded)) revert("InvalidPaymentStatus");
      const merchant = payment.intent.merchant;
      if (lower(action.merchant ?? merchant) !== merchant) revert("NotPaymentMerchant");
      const refundable = payment.amount - payment.refunded;
      if (action.amount > refundable) revert("RefundExceedsPayment");
      debit(draft, merchant, payment.token, action.amount);
      const refundedTotal = payment.refunded + action.amount;
      draft.setPayment({ ...payment, refunded: refundedTotal, status: action.amount === refundable ? STATUS.Refunded : STATUS.PartiallyRefunded });
      draft.emit({
        name: "PaymentRefunded",
        emitter: config.escrow,
        args: { paymentId: payment.intent.paymentId, merchant, to, token: payment.token, amount: action.amount, refundedTotal },
      });
      push(draft, payment.intent.paymentId, payment.token, to, action.amount);
      return;
    }
    case "returnStray": {
      const intent = normalIntent(action.intent);
      const token = lower(action.token);
      const byOperator = action.byOperator ?? true;
      if (collectable(draft, intent, token, byOperator)) revert("DepositCollectable");
      const receiver = refundReceiver(config, intent, lower(action.to), byOperator);
      const amount = draft.balance(token, intent.depositAddress);
      if (amount === 0n) revert("NothingToCollect");
      draft.emit({
        name: "StrayReturned",
        emitter: config.escrow,
        args: { paymentId: intent.paymentId, depositAddress: intent.depositAddress, to: receiver, token, amount },
      });
      if (!refusesNative(config, token, receiver)) {
        draft.move(token, intent.depositAddress, receiver, amount, true);
        return;
      }
      // The receiver cannot take it: the escrow sweeps it in and owes it to the receiver as a claim.
      draft.move(token, intent.depositAddress, config.escrow, amount, true);
      push(draft, intent.paymentId, token, receiver, amount);
      return;
    }
    case "withdraw": {
      const merchant = lower(action.merchant);
      const token = lower(action.token);
      const payout = config.payouts?.get(merchant);
      if (payout === undefined) revert("MerchantNotRegistered");
      debit(draft, merchant, token, action.amount);
      draft.emit({ name: "Withdrawn", emitter: config.escrow, args: { merchant, payout, token, amount: action.amount } });
      send(draft, token, payout, action.amount);
      return;
    }
    case "claim": {
      const [account, token, to] = [lower(action.account), lower(action.token), lower(action.to)];
      requireReceiver(config, to);
      const amount = draft.owed(claimKey(token, account));
      if (amount === 0n) revert("NothingToClaim");
      draft.addOwed(claimKey(token, account), -amount);
      draft.emit({ name: "RefundClaimed", emitter: config.escrow, args: { account, to, token, amount } });
      send(draft, token, to, amount);
      return;
    }
    case "withdrawFees": {
      const token = lower(action.token);
      const treasury = config.treasury ?? zeroAddress;
      if (treasury === zeroAddress) revert("ZeroAddress");
      const amount = draft.owed(feesKey(token));
      if (amount === 0n) revert("NothingToClaim");
      draft.addOwed(feesKey(token), -amount);
      draft.emit({ name: "FeesWithdrawn", emitter: config.escrow, args: { treasury, token, amount } });
      send(draft, token, treasury, amount);
      return;
    }
  }
}

/**
 * `remainingUsd(intent)` at `timestamp`: USD still due, with what the payment's record holds valued at today's price
 * (zero once past the expiry or no longer open), or the contract's error.
 */
export function remainingUsd(
  config: EscrowConfig,
  state: EscrowState,
  intent: Intent,
  timestamp: bigint,
): { reverted: false; usd: bigint } | { reverted: true; reason: string } {
  const payment = paymentOf(state, intent.paymentId);
  if (timestamp > intent.expiry) return { reverted: false, usd: 0n };
  if (payment === undefined || payment.status === STATUS.None) return { reverted: false, usd: intent.amountUsd };
  if (payment.status !== STATUS.Open) return { reverted: false, usd: 0n };
  try {
    requireBoundIntent(payment, normalIntent(intent));
    const price = config.prices.get(payment.token);
    // A disallowed token's feed is the zero address: the call to it reverts without data.
    if (price === undefined) revert("");
    requireFreshPrice(config, payment.token, timestamp);
    const worth = (payment.amount * price) / USD_UNIT;
    return { reverted: false, usd: worth < intent.amountUsd ? intent.amountUsd - worth : 0n };
  } catch (error) {
    if (error instanceof Revert) return { reverted: true, reason: error.message };
    throw error;
  }
}

/**
 * Applies one action at a block's timestamp: the new state and its events, or a revert that changes nothing.
 * `config` comes from `escrowConfig` (lowercase addresses).
 */
export function applyAction(config: EscrowConfig, state: EscrowState, action: EscrowAction, timestamp: bigint): ActionOutcome {
  const draft = new Draft(state, config, timestamp);
  try {
    perform(draft, action);
  } catch (error) {
    if (error instanceof Revert) return { reverted: true, reason: error.message };
    throw error;
  }
  return { reverted: false, state: draft.commit(), events: draft.events };
}
