import { encodeFunctionData, erc20Abi, getAddress, zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import type { Logger } from "pino";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import { sleep } from "../chain/retry";
import type { KeeperObserver } from "./keeperMetrics";
import type { PaymentIntent } from "../payments/paymentIntent";
import { readCheckpoint } from "../store/checkpointStore";
import { eventsOfPayments, type Db } from "../store/paymentStore";
import { intentOf } from "../payments/paymentRegistration";
import { paymentFromRow, registrationFromRow } from "../store/paymentRows";
import { OPERATOR_REASON_TEXT, planFor, subjectOf, type KeeperAction, type KeeperView, type OperatorCase } from "./actionPlan";
import { actionKeyString, claimAction, deleteAction, keeperCandidates, revertedActionKeys, unsettledActions, updateAction } from "./keeperStore";
import { TransactionFollower } from "./transactionFollower";
import type { TransactionSender } from "./transactionSender";

export interface KeeperOptions {
  client: PublicClient;
  sender: TransactionSender;
  db: Db;
  chainId: number;
  escrow: Address;
  lateCollectWindow: bigint;
  logger: Logger;
  pollIntervalMs?: number;
  /**
   * A sent transaction not mined after this long is replaced at a higher gas price; one the node no longer knows
   * (a reorganisation dropped it, or the pool evicted it) is given this long to come back before the keeper
   * broadcasts it again or takes its nonce with a no-op.
   */
  stuckAfterMs?: number;
  /**
   * Blocks after which the keeper takes its own transactions as final (the indexer's confirmation depth): until then
   * it checks their receipts each round, and a reorganisation that drops one is handled.
   */
  finalityDepth: number;
  /** Told each round what the keeper leaves to the operator (metrics). */
  observer?: KeeperObserver;
}

/** Signed attempts of a transaction (the call's and its no-op's) after which a stuck one is left to wait. */
const MAX_ATTEMPTS = 6;
/**
 * How far back a funded deposit address keeps its payment in the keeper's view (strays to return): 20,000 blocks,
 * about 17 hours of BSC's 3-second blocks. Long enough to retry a return through an outage, short enough that a
 * round does not read every payment ever made; what is left after it is the operator's.
 */
const RECENT_FUNDING_BLOCKS = 20_000;
/** Payments whose deposit-address balances the keeper reads concurrently. */
const BALANCE_READS_AT_ONCE = 8;

/**
 * The keeper: collects what customers send to deposit addresses (in any token the intent accepts), expires unpaid
 * payments holding deposits, sends back the deposits of expired payments and those a paid payment holds in tokens
 * that did not pay it, token by token, and returns strays. It sends each action at most once per state (a row claimed
 * in keeper_actions before signing), manages its nonces itself, and follows each transaction until it is final
 * (`TransactionFollower`, as `transactionLifecycle.ts` decides): stuck ones are replaced, one a reorganisation drops
 * is broadcast again while still wanted, or its nonce taken by a no-op otherwise, so that no nonce of the account
 * is left unused. Each round it observes (the indexer's records, balances), asks the pure plan (`actionPlan.ts`),
 * and performs.
 */
export class Keeper {
  /** The cases left to the operator reported in their current state (each is logged once per state). */
  private reported = new Set<string>();
  private readonly follower: TransactionFollower;

  constructor(private readonly options: KeeperOptions) {
    const { client, sender, db, chainId, escrow, logger } = options;
    this.follower = new TransactionFollower({
      client,
      sender,
      db,
      chainId,
      escrow,
      logger,
      policy: { finalityDepth: options.finalityDepth, stuckAfterMs: options.stuckAfterMs ?? 30_000, maxAttempts: MAX_ATTEMPTS },
    });
  }

  /**
   * The payments the keeper looks at, as the indexer recorded them up to its checkpoint (their events, and what
   * reached their deposit addresses: transfers and BNB the indexer saw arrive), with what the deposit addresses hold
   * at that block, so that what waits and the arrivals that brought it agree.
   */
  private async views(): Promise<Array<{ view: KeeperView; intent: PaymentIntent; signature: Hex }>> {
    const { client, db, chainId } = this.options;
    const checkpoint = await readCheckpoint(db, chainId);
    if (!checkpoint) return [];
    const rows = await keeperCandidates(db, chainId, { at: checkpoint.timestamp, sinceBlock: checkpoint.blockNumber - RECENT_FUNDING_BLOCKS });
    const blockNumber = BigInt(checkpoint.blockNumber);
    // The events of every candidate in one query, not one each: a round looks at every open payment.
    const eventsById = await eventsOfPayments(
      db,
      chainId,
      rows.map((row) => row.id),
    );
    const viewOf = async (row: (typeof rows)[number]) => {
      const registration = registrationFromRow(row);
      const payment = paymentFromRow(row);
      const depositAddress = getAddress(registration.depositAddress);
      const transfers: KeeperView["transfers"][number][] = [];
      // By token (then by payer or receiver): each accepted token adds up apart on chain, and goes back apart.
      const deposits = new Map<Address, Map<Address, bigint>>();
      const collectedFromDepositAddress = new Map<Address, bigint>();
      const refundedFromDepositAddress = new Map<Address, Map<Address, bigint>>();
      const returnedStrays = new Map<Address, bigint>();
      const add = (map: Map<Address, bigint>, key: Address, amount: bigint) => map.set(getAddress(key), (map.get(getAddress(key)) ?? 0n) + amount);
      const ofToken = (map: Map<Address, Map<Address, bigint>>, token: Address) => {
        const key = getAddress(token);
        if (!map.has(key)) map.set(key, new Map());
        return map.get(key)!;
      };
      for (const event of eventsById.get(row.id)!) {
        if (event.kind === "deposit_address_funded") {
          transfers.push({ token: getAddress(event.token), sender: getAddress(event.sender), amount: event.amount, timestamp: event.timestamp });
        }
        // A completing deposit is the merchant's: the escrow records no refundable deposit for it.
        if (event.kind === "deposited") {
          add(ofToken(deposits, event.token), event.payer, event.amount);
          if (getAddress(event.payer) === depositAddress) add(collectedFromDepositAddress, event.token, event.amount);
        }
        if (event.kind === "deposit_refunded") {
          add(ofToken(deposits, event.token), event.payer, -event.amount);
          if (getAddress(event.payer) === depositAddress) add(ofToken(refundedFromDepositAddress, event.token), event.to, event.amount);
        }
        if (event.kind === "stray_returned") add(returnedStrays, event.token, event.amount);
      }
      const tokens = [...new Set(transfers.map((transfer) => transfer.token).filter((token) => token !== zeroAddress))];
      const holdings = await Promise.all([
        client.getBalance({ address: depositAddress, blockNumber }).then((amount) => ({ token: zeroAddress as Address, amount })),
        ...tokens.map(async (token) => ({
          token,
          amount: await client.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [depositAddress], blockNumber }),
        })),
      ]);
      return {
        view: {
          payment,
          expiry: registration.expiry,
          refundTo: registration.refundTo,
          depositAddress,
          holdings,
          transfers,
          deposits,
          collectedFromDepositAddress,
          refundedFromDepositAddress,
          returnedStrays,
        },
        intent: intentOf(registration),
        signature: registration.signature,
      };
    };
    // A few payments' balances read at a time: a round does not wait on each in turn, nor floods the provider.
    const result = [];
    for (let start = 0; start < rows.length; start += BALANCE_READS_AT_ONCE) {
      result.push(...(await Promise.all(rows.slice(start, start + BALANCE_READS_AT_ONCE).map(viewOf))));
    }
    return result;
  }

  private calldata(action: KeeperAction, intent: PaymentIntent, signature: Hex): Hex {
    switch (action.kind) {
      case "collect":
        return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "collect", args: [intent, signature, action.token] });
      case "expire":
        return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "expire", args: [intent, action.token, action.payers] });
      case "returnStray":
        return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "returnStray", args: [intent, action.token, action.to] });
      case "refundDepositAddress":
        return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "refundDepositAddress", args: [intent, action.token, action.to, action.amount] });
    }
  }

  /**
   * Reports what the keeper leaves to the operator: a warning naming the payment, the token, the amount and why,
   * once per case and state (a case seen in the previous round in the same state is not logged again), and the
   * metrics, every round.
   */
  private report(cases: readonly OperatorCase[]) {
    const keys = new Set<string>();
    const fresh: OperatorCase[] = [];
    for (const left of cases) {
      const key = `${left.paymentId.toLowerCase()}|${left.reason}|${left.token.toLowerCase()}|${left.stateKey}`;
      keys.add(key);
      if (this.reported.has(key)) continue;
      fresh.push(left);
      this.options.logger.warn(
        { paymentId: left.paymentId, token: left.token, amount: left.amount.toString(), reason: left.reason, stateKey: left.stateKey },
        `left to the operator: ${OPERATOR_REASON_TEXT[left.reason]}`,
      );
    }
    this.reported = keys;
    this.options.observer?.leftToOperator(cases, fresh);
  }

  /** One round: look at the watched payments, settle what was sent, send what is due. */
  async tick(): Promise<KeeperAction[]> {
    const { client, db, chainId, sender, logger } = this.options;
    const block = await client.getBlock({ blockTag: "latest" });
    const head = Number(block.number);
    const candidates = await this.views();
    const wanted = new Map<string, Set<Hex>>();
    const planned: Array<{ action: KeeperAction; data: Hex; view: KeeperView }> = [];
    const leftToOperator: OperatorCase[] = [];
    for (const { view, intent, signature } of candidates) {
      const plan = planFor(view, block.timestamp, this.options.lateCollectWindow);
      leftToOperator.push(...plan.leftToOperator);
      for (const action of plan.actions) {
        const data = this.calldata(action, intent, signature);
        if (!wanted.has(action.paymentId)) wanted.set(action.paymentId, new Set());
        wanted.get(action.paymentId)!.add(data);
        planned.push({ action, data, view });
      }
    }
    await this.follower.settle(wanted, head);

    // An action whose transaction reverted is never sent again for the same state: while the chain still asks for
    // it, it waits for the operator.
    const reverted = await revertedActionKeys(db, chainId, [...new Set(planned.map(({ action }) => action.paymentId))]);
    const due: typeof planned = [];
    for (const entry of planned) {
      const { action, view } = entry;
      if (!reverted.has(actionKeyString({ paymentId: action.paymentId, action: action.kind, stateKey: action.stateKey }))) due.push(entry);
      else
        leftToOperator.push({
          paymentId: action.paymentId,
          ...subjectOf(action, view),
          reason: "transaction_reverted",
          stateKey: `${action.kind}:${action.stateKey}`,
        });
    }
    this.report(leftToOperator);

    // A payment with a transaction on its way (not mined yet) gets nothing new: the state it was planned from does
    // not show that transaction's effect yet. Nonces continue above every unsettled transaction's.
    const unsettled = await unsettledActions(db, chainId);
    const busy = new Set(unsettled.filter((row) => row.status !== "mined").map((row) => row.paymentId));
    await sender.sync(Math.max(0, ...unsettled.map((row) => row.nonce + 1)));

    const sent: KeeperAction[] = [];
    for (const { action, data } of due) {
      if (busy.has(action.paymentId)) continue;
      const nonce = await sender.reserveNonce();
      if (!(await claimAction(db, chainId, action.paymentId, action.kind, action.stateKey, nonce))) {
        sender.release(nonce);
        continue;
      }
      const key = { paymentId: action.paymentId, action: action.kind, stateKey: action.stateKey };
      let tx;
      try {
        tx = await sender.sign(this.options.escrow, data, nonce);
      } catch (error) {
        // Refused before signing (the escrow would revert now, e.g. a stale price): nothing was sent, so the claim
        // is released and the action planned again next round.
        await deleteAction(db, chainId, key);
        sender.release(nonce);
        logger.warn({ ...key, err: (error as { shortMessage?: string }).shortMessage ?? error }, "keeper action refused before sending");
        continue;
      }
      // Recorded before it is broadcast: whatever happens to the broadcast, the keeper knows what it may have sent.
      await updateAction(db, chainId, key, {
        status: "sent",
        txHash: tx.hash,
        rawTx: tx.raw,
        calldata: data,
        txHashes: [tx.hash],
        gasPrice: tx.gasPrice,
        attempt: true,
      });
      try {
        await sender.broadcast(tx.raw);
        logger.info({ ...key, tx: tx.hash }, "keeper sent");
        sent.push(action);
      } catch (error) {
        // Maybe not broadcast: settling looks for it, and broadcasts it again or takes its nonce with a no-op.
        logger.warn({ ...key, tx: tx.hash, err: (error as { shortMessage?: string }).shortMessage ?? error }, "keeper transaction broadcast failed");
      }
    }
    return sent;
  }

  async run(signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted) {
      try {
        await this.tick();
      } catch (error) {
        this.options.logger.error({ err: error }, "keeper round failed; retrying");
      }
      await sleep(this.options.pollIntervalMs ?? 1_000, signal);
    }
  }
}
