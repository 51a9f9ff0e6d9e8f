import { zeroAddress, type Address, type Hex } from "viem";

/**
 * A model of OpenPayEscrow's payment state and of the token balances around it, for a simulated chain. Pure: an
 * action and a state give a new state and the events the real escrow (and the tokens it moves) would emit, or a
 * revert. It follows contracts/OpenPayEscrow.sol for what the indexer reads (payments, deposits, refunds, strays,
 * deposit-address balances) and leaves out what it does not (signatures, merchant balances, fees, withdrawals,
 * claims, pausing): every intent counts as signed, the fee is zero and every refund push succeeds.
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
  depositAddress: Address;
}

export interface EscrowConfig {
  escrow: Address;
  /** USD per whole token (18 decimals) of each allowed token, BNB being the zero address: no price, not allowed. */
  prices: ReadonlyMap<Address, bigint>;
  /** Each allowed token's tolerance (its own, as the escrow keeps it). */
  toleranceBps: ReadonlyMap<Address, bigint>;
  lateCollectWindow: bigint;
}

/** What the model does. `byOperator` says whether the caller holds OPERATOR_ROLE (the keeper does). */
export type EscrowAction =
  /** `pay`, or `payNative` when `token` is the zero address. */
  | { kind: "pay"; intent: Intent; payer: Address; token: Address; amount: bigint }
  /** A plain ERC-20 transfer (a `Transfer` log by the token); the sender's funds are unlimited. */
  | { kind: "transfer"; token: Address; from: Address; to: Address; amount: bigint }
  /** BNB sent to an address: no log, only a balance. */
  | { kind: "sendNative"; to: Address; amount: bigint }
  | { kind: "collect"; intent: Intent; token: Address; byOperator?: boolean }
  | { kind: "expire"; intent: Intent; payers: readonly Address[]; byOperator?: boolean }
  | { kind: "refundDepositAddress"; intent: Intent; to: Address; amount: bigint; byOperator?: boolean }
  /** A merchant's refund of a paid payment. */
  | { kind: "refund"; paymentId: Hex; to: Address; amount: bigint }
  | { kind: "returnStray"; intent: Intent; token: Address; to: Address; byOperator?: boolean };

/** One payment as the model holds it. */
export interface ModelPayment {
  status: StatusCode;
  /** The intent the payment was opened with: later deposits and expiry must repeat it. */
  intent: Intent;
  /** The token of its deposits (the zero address for BNB). */
  token: Address;
  /** Token units deposited in total. */
  amount: bigint;
  /** USD value of the deposits at their prices. */
  receivedUsd: bigint;
  /** Each payer's deposits still refundable (while open or expired). */
  deposits: ReadonlyMap<Address, bigint>;
  /** Token units the merchant refunded. */
  refunded: bigint;
}

export interface EscrowState {
  payments: ReadonlyMap<Hex, ModelPayment>;
  /** Balances by `balanceKey(token, account)`. */
  balances: ReadonlyMap<string, bigint>;
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
  | { name: "Transfer"; emitter: Address; args: { from: Address; to: Address; value: bigint } };

export type ActionOutcome =
  | { reverted: false; state: EscrowState; events: ModelEvent[] }
  /** The contract's error name (and what failed): the transaction is mined, with no logs and no state change. */
  | { reverted: true; reason: string };

const BPS = 10_000n;
const USD_UNIT = 10n ** 18n;
/** A token's tolerance when first configured (`DEFAULT_TOLERANCE_BPS`). */
const DEFAULT_TOLERANCE_BPS = 100n;
const UINT104_MAX = (1n << 104n) - 1n;

export const emptyEscrowState = (): EscrowState => ({ payments: new Map(), balances: new Map() });

const lower = <T extends string>(value: T): T => value.toLowerCase() as T;

/** The configuration with its addresses lowercase, as `applyAction` takes it. */
export function escrowConfig(config: EscrowConfig): EscrowConfig {
  return {
    escrow: lower(config.escrow),
    prices: new Map([...config.prices].map(([token, price]) => [lower(token), price])),
    toleranceBps: new Map([...config.toleranceBps].map(([token, bps]) => [lower(token), bps])),
    lateCollectWindow: config.lateCollectWindow,
  };
}

export const balanceKey = (token: Address, account: Address): string => `${lower(token)}:${lower(account)}`;

/** What `account` holds of `token` (the zero address: BNB). */
export function balanceOf(state: EscrowState, token: Address, account: Address): bigint {
  return state.balances.get(balanceKey(token, account)) ?? 0n;
}

export function paymentOf(state: EscrowState, paymentId: Hex): ModelPayment | undefined {
  return state.payments.get(lower(paymentId));
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

  emit(event: ModelEvent): void {
    this.events.push(event);
  }

  commit(): EscrowState {
    if (this.payments.size === 0 && this.balances.size === 0) return this.base;
    const payments = new Map(this.base.payments);
    for (const [id, payment] of this.payments) payments.set(id, payment);
    const balances = new Map(this.base.balances);
    for (const [key, amount] of this.balances) balances.set(key, amount);
    return { payments, balances };
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
    depositAddress: lower(intent.depositAddress),
  };
}

const sameIntent = (a: Intent, b: Intent): boolean =>
  a.paymentId === b.paymentId &&
  a.merchant === b.merchant &&
  a.amountUsd === b.amountUsd &&
  a.expiry === b.expiry &&
  a.refundTo === b.refundTo &&
  a.depositAddress === b.depositAddress;

const isAllowed = (config: EscrowConfig, token: Address): boolean => config.prices.has(lower(token));

/** `_requireBoundIntent`: the intent an open or expired payment was opened with. */
function requireBoundIntent(payment: ModelPayment, intent: Intent): void {
  if (!sameIntent(payment.intent, intent)) revert("IntentMismatch");
}

/** `_deposit` and `_admit`: records a deposit, then completes the payment or keeps it open. Effects only. */
function deposit(draft: Draft, intent: Intent, token: Address, amount: bigint, payer: Address, deadline: bigint): void {
  if (amount === 0n) revert("ZeroAmount");
  if (amount > UINT104_MAX) revert("AmountTooLarge");
  const price = draft.config.prices.get(token);
  if (price === undefined) revert("TokenNotAllowed");
  const previous = draft.payment(intent.paymentId);
  const status = previous?.status ?? STATUS.None;
  if (status !== STATUS.None && status !== STATUS.Open) revert("InvalidPaymentStatus");
  if (draft.timestamp > deadline) revert("DepositAfterExpiry");
  if (previous === undefined || status === STATUS.None) {
    if (intent.paymentId.slice(0, 42) !== intent.merchant) revert("PaymentIdNotOfMerchant");
    if (intent.amountUsd === 0n) revert("ZeroPaymentAmount");
    if (intent.amountUsd > UINT104_MAX) revert("AmountTooLarge");
  } else {
    requireBoundIntent(previous, intent);
    if (previous.token !== token) revert("TokenMismatch");
  }

  const valueUsd = (amount * price) / USD_UNIT;
  const total = (previous?.amount ?? 0n) + amount;
  // The escrow values the whole amount received again at each deposit.
  const receivedUsd = (total * price) / USD_UNIT;
  if (total > UINT104_MAX || receivedUsd > UINT104_MAX) revert("AmountTooLarge");
  const deposits = previous?.deposits ?? new Map<Address, bigint>();
  const base = { intent: previous?.intent ?? intent, token, amount: total, receivedUsd, refunded: 0n };

  const toleranceBps = draft.config.toleranceBps.get(token) ?? DEFAULT_TOLERANCE_BPS;
  if (receivedUsd * BPS >= intent.amountUsd * (BPS - toleranceBps)) {
    draft.setPayment({ ...base, status: STATUS.Completed, deposits });
    const excessUsd = receivedUsd > intent.amountUsd ? receivedUsd - intent.amountUsd : 0n;
    draft.emit({
      name: "PaymentCompleted",
      emitter: draft.config.escrow,
      args: { paymentId: intent.paymentId, merchant: intent.merchant, payer, token, amount, valueUsd, receivedUsd, excessUsd, fee: 0n },
    });
  } else {
    draft.setPayment({ ...base, status: STATUS.Open, deposits: new Map(deposits).set(payer, (deposits.get(payer) ?? 0n) + amount) });
    draft.emit({
      name: "PaymentDeposited",
      emitter: draft.config.escrow,
      args: { paymentId: intent.paymentId, merchant: intent.merchant, payer, token, amount, valueUsd, receivedUsd, remainingUsd: intent.amountUsd - receivedUsd },
    });
  }
}

/** `_refundReceiver`: the intent's refund address, else the operator's choice. */
function refundReceiver(intent: Intent, to: Address, byOperator: boolean): Address {
  if (intent.refundTo !== zeroAddress) return intent.refundTo;
  if (!byOperator) revert("AccessControlUnauthorizedAccount");
  if (to === zeroAddress) revert("ZeroAddress");
  return to;
}

/** `_collectable`: whether `token` at the deposit address could still be collected, now or later. */
function collectable(draft: Draft, intent: Intent, token: Address, byOperator: boolean): boolean {
  const until = intent.expiry + (byOperator ? 0n : draft.config.lateCollectWindow);
  if (draft.timestamp > until) return false;
  if (!isAllowed(draft.config, token)) return false;
  const payment = draft.payment(intent.paymentId);
  if (payment === undefined || payment.status === STATUS.None) return true;
  return payment.status === STATUS.Open && payment.token === token && sameIntent(payment.intent, intent);
}

/** Sends from the escrow what it owes (a refund); every push succeeds in the model. */
const push = (draft: Draft, token: Address, to: Address, amount: bigint) => draft.move(token, draft.config.escrow, to, amount, true);

function perform(draft: Draft, action: EscrowAction): void {
  const { config, timestamp } = draft;
  switch (action.kind) {
    case "pay": {
      const intent = normalIntent(action.intent);
      const token = lower(action.token);
      deposit(draft, intent, token, action.amount, lower(action.payer), intent.expiry);
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
      const payment = draft.payment(intent.paymentId);
      if (payment === undefined || (payment.status !== STATUS.Open && payment.status !== STATUS.Expired)) revert("InvalidPaymentStatus");
      requireBoundIntent(payment, intent);
      const keptForOperator = intent.refundTo === zeroAddress ? intent.depositAddress : zeroAddress;
      let current = payment;
      if (current.status === STATUS.Open) {
        if (timestamp <= intent.expiry) revert("PaymentNotExpired");
        const windowEnd = intent.expiry + config.lateCollectWindow;
        if (timestamp <= windowEnd && draft.balance(current.token, intent.depositAddress) !== 0n && !(action.byOperator ?? true)) {
          revert("LateCollectPending");
        }
        current = { ...current, status: STATUS.Expired };
        draft.emit({
          name: "PaymentExpired",
          emitter: config.escrow,
          args: { paymentId: intent.paymentId, token: current.token, amount: current.amount, receivedUsd: current.receivedUsd },
        });
      }
      for (const payer of action.payers.map(lower)) {
        const amount = current.deposits.get(payer) ?? 0n;
        if (amount === 0n || payer === keptForOperator) continue;
        const deposits = new Map(current.deposits);
        deposits.delete(payer);
        current = { ...current, deposits };
        const to = intent.refundTo === zeroAddress ? payer : intent.refundTo;
        draft.emit({ name: "DepositRefunded", emitter: config.escrow, args: { paymentId: intent.paymentId, payer, to, token: current.token, amount } });
        push(draft, current.token, to, amount);
      }
      draft.setPayment(current);
      return;
    }
    case "refundDepositAddress": {
      const intent = normalIntent(action.intent);
      const payment = draft.payment(intent.paymentId);
      if (payment === undefined || payment.status !== STATUS.Expired) revert("InvalidPaymentStatus");
      requireBoundIntent(payment, intent);
      const receiver = refundReceiver(intent, lower(action.to), action.byOperator ?? true);
      if (action.amount === 0n) revert("ZeroAmount");
      const deposited = payment.deposits.get(intent.depositAddress) ?? 0n;
      if (action.amount > deposited) revert("RefundExceedsDeposit");
      draft.setPayment({ ...payment, deposits: new Map(payment.deposits).set(intent.depositAddress, deposited - action.amount) });
      draft.emit({
        name: "DepositRefunded",
        emitter: config.escrow,
        args: { paymentId: intent.paymentId, payer: intent.depositAddress, to: receiver, token: payment.token, amount: action.amount },
      });
      push(draft, payment.token, receiver, action.amount);
      return;
    }
    case "refund": {
      const to = lower(action.to);
      if (to === zeroAddress) revert("ZeroAddress");
      const payment = draft.payment(action.paymentId);
      if (payment === undefined || (payment.status !== STATUS.Completed && payment.status !== STATUS.PartiallyRefunded)) revert("InvalidPaymentStatus");
      const refundable = payment.amount - payment.refunded;
      if (action.amount > refundable) revert("RefundExceedsPayment");
      if (action.amount === 0n) revert("ZeroAmount");
      const refundedTotal = payment.refunded + action.amount;
      draft.setPayment({ ...payment, refunded: refundedTotal, status: action.amount === refundable ? STATUS.Refunded : STATUS.PartiallyRefunded });
      draft.emit({
        name: "PaymentRefunded",
        emitter: config.escrow,
        args: { paymentId: payment.intent.paymentId, merchant: payment.intent.merchant, to, token: payment.token, amount: action.amount, refundedTotal },
      });
      push(draft, payment.token, to, action.amount);
      return;
    }
    case "returnStray": {
      const intent = normalIntent(action.intent);
      const token = lower(action.token);
      const byOperator = action.byOperator ?? true;
      if (collectable(draft, intent, token, byOperator)) revert("DepositCollectable");
      const receiver = refundReceiver(intent, lower(action.to), byOperator);
      const amount = draft.balance(token, intent.depositAddress);
      if (amount === 0n) revert("NothingToCollect");
      draft.emit({ name: "StrayReturned", emitter: config.escrow, args: { paymentId: intent.paymentId, depositAddress: intent.depositAddress, to: receiver, token, amount } });
      draft.move(token, intent.depositAddress, receiver, amount, true);
      return;
    }
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
