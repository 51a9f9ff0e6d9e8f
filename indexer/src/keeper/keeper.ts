import { encodeFunctionData, erc20Abi, getAddress, zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import type { Logger } from "pino";
import { openPayEscrowAbi } from "../chain/escrowAbi";
import { sleep } from "../chain/retry";
import type { PaymentIntent } from "../payments/paymentIntent";
import { eventsOf, type Db } from "../store/paymentStore";
import { intentOf, paymentFromRow, registrationFromRow } from "../store/paymentRows";
import { planActions, type KeeperAction, type KeeperView } from "./actionPlan";
import {
  claimAction,
  deleteAction,
  keeperCandidates,
  recordTransfers,
  scannedBlock,
  transfersOf,
  unsettledActions,
  updateAction,
} from "./keeperStore";
import type { TransactionSender } from "./transactionSender";

export interface KeeperOptions {
  client: PublicClient;
  sender: TransactionSender;
  db: Db;
  chainId: number;
  escrow: Address;
  /** BEP-20 tokens the escrow accepts (BNB is watched by balance). */
  tokens: readonly Address[];
  /** The block to scan transfers from when the keeper starts for the first time (the escrow's deployment). */
  startBlock: number;
  lateCollectWindow: bigint;
  logger: Logger;
  pollIntervalMs?: number;
  /** A sent transaction not mined after this long is replaced at a higher gas price. */
  stuckAfterMs?: number;
  /** Blocks per eth_getLogs request when scanning for transfers. */
  scanRange?: number;
}

/** Deposit addresses per getLogs topic filter: providers cap the length of OR-lists. */
const ADDRESSES_PER_QUERY = 200;
const MAX_ATTEMPTS = 6;

/**
 * The keeper: collects what customers send to deposit addresses, expires unpaid payments holding deposits,
 * returns strays and the deposits of expired payments. It sends each action at most once per state (a row claimed
 * in keeper_actions before broadcasting), manages its nonces itself and replaces stuck transactions.
 */
export class Keeper {
  constructor(private readonly options: KeeperOptions) {}

  /** Records token transfers into the deposit addresses of payments the keeper watches, up to `head`. */
  private async scanTransfers(head: number, watched: Map<Address, string>) {
    const { client, db, chainId, tokens } = this.options;
    const from = ((await scannedBlock(db, chainId)) ?? this.options.startBlock - 1) + 1;
    if (from > head) return;
    const range = this.options.scanRange ?? 5_000;
    const addresses = [...watched.keys()];
    for (let start = from; start <= head; start += range) {
      const end = Math.min(head, start + range - 1);
      const found = [];
      for (let i = 0; i < addresses.length && tokens.length > 0; i += ADDRESSES_PER_QUERY) {
        const logs = await client.getLogs({
          address: [...tokens],
          event: erc20Abi.find((item) => item.type === "event" && item.name === "Transfer")!,
          args: { to: addresses.slice(i, i + ADDRESSES_PER_QUERY) },
          fromBlock: BigInt(start),
          toBlock: BigInt(end),
        });
        for (const log of logs) {
          const to = getAddress(log.args.to!);
          found.push({
            blockNumber: Number(log.blockNumber),
            logIndex: log.logIndex!,
            paymentId: watched.get(to)!,
            token: getAddress(log.address),
            sender: getAddress(log.args.from!),
            amount: log.args.value!,
          });
        }
      }
      await recordTransfers(db, chainId, found, end);
    }
  }

  private async views(head: number): Promise<Array<{ view: KeeperView; intent: PaymentIntent; signature: Hex }>> {
    const { client, db, chainId } = this.options;
    const rows = await keeperCandidates(db, chainId, head - 20_000);
    const watched = new Map(rows.map((row) => [getAddress(row.deposit_address), row.id]));
    await this.scanTransfers(head, watched);
    const transfers = await transfersOf(db, chainId, rows.map((row) => row.id));
    const result = [];
    for (const row of rows) {
      const registration = registrationFromRow(row);
      const payment = paymentFromRow(row);
      const depositAddress = getAddress(registration.depositAddress);
      const mine = transfers.filter((transfer) => transfer.paymentId === row.id).map(({ token, sender, amount }) => ({ token: getAddress(token), sender: getAddress(sender), amount }));
      const holdings = [{ token: zeroAddress as Address, amount: await client.getBalance({ address: depositAddress }) }];
      for (const token of new Set(mine.map((transfer) => transfer.token))) {
        const amount = await client.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [depositAddress] });
        holdings.push({ token, amount });
      }
      const payers = new Set<Address>();
      let collectedFromDepositAddress = 0n;
      const refundedFromDepositAddress = new Map<Address, bigint>();
      const returnedStrays = new Map<Address, bigint>();
      const add = (map: Map<Address, bigint>, key: Address, amount: bigint) => map.set(getAddress(key), (map.get(getAddress(key)) ?? 0n) + amount);
      for (const event of await eventsOf(db, chainId, row.id)) {
        if (event.kind === "deposited" || event.kind === "completed") {
          payers.add(event.payer);
          if (getAddress(event.payer) === depositAddress) collectedFromDepositAddress += event.amount;
        }
        if (event.kind === "deposit_refunded" && getAddress(event.payer) === depositAddress) add(refundedFromDepositAddress, event.to, event.amount);
        if (event.kind === "stray_returned") add(returnedStrays, event.token, event.amount);
      }
      result.push({
        view: {
          payment,
          expiry: registration.expiry,
          refundTo: registration.refundTo,
          depositAddress,
          holdings,
          transfers: mine,
          payers: [...payers],
          collectedFromDepositAddress,
          refundedFromDepositAddress,
          returnedStrays,
        },
        intent: intentOf(registration),
        signature: registration.signature,
      });
    }
    return result;
  }

  private calldata(action: KeeperAction, intent: PaymentIntent, signature: Hex): Hex {
    switch (action.kind) {
      case "collect":
        return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "collect", args: [intent, signature, action.token] });
      case "expire":
        return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "expire", args: [intent, action.payers] });
      case "returnStray":
        return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "returnStray", args: [intent, action.token, action.to] });
      case "refundDepositAddress":
        return encodeFunctionData({ abi: openPayEscrowAbi, functionName: "refundDepositAddress", args: [intent, action.to, action.amount] });
    }
  }

  /** Settles what was sent: receipts, stuck transactions replaced, claims that never reached the node released. */
  private async settle(calldataOf: Map<string, Hex>) {
    const { client, db, chainId, sender, logger } = this.options;
    const mined = await sender.minedNonce();
    for (const row of await unsettledActions(db, chainId)) {
      const key = { paymentId: row.paymentId, action: row.action, stateKey: row.stateKey };
      if (row.status === "planned") {
        // Claimed with a nonce but never recorded as sent (the process stopped in between): when the chain has not
        // used that nonce, nothing was broadcast and the action may be planned again.
        if (row.nonce !== null && row.nonce >= mined) {
          await deleteAction(db, chainId, key);
          await sender.resync();
        } else await updateAction(db, chainId, key, { status: "done", error: "nonce used before the send was recorded" });
        continue;
      }
      const receipt = row.txHash ? await client.getTransactionReceipt({ hash: row.txHash }).catch(() => undefined) : undefined;
      if (receipt) {
        await updateAction(db, chainId, key, receipt.status === "success" ? { status: "done" } : { status: "failed", error: "reverted" });
        if (receipt.status !== "success") logger.warn({ ...key, tx: row.txHash }, "keeper transaction reverted");
        continue;
      }
      if (row.nonce !== null && row.nonce < mined) {
        // Another transaction with this nonce was mined: an earlier attempt of the same call.
        await updateAction(db, chainId, key, { status: "done" });
        continue;
      }
      const data = calldataOf.get(`${row.paymentId}/${row.action}/${row.stateKey}`);
      const stuck = Date.now() - row.updatedAt.getTime() > (this.options.stuckAfterMs ?? 30_000);
      if (stuck && data && row.nonce !== null && row.gasPrice !== null && row.attempts < MAX_ATTEMPTS) {
        try {
          const sent = await sender.bump(this.options.escrow, data, row.nonce, row.gasPrice);
          await updateAction(db, chainId, key, { status: "sent", txHash: sent.hash, gasPrice: sent.gasPrice, attempt: true });
          logger.info({ ...key, tx: sent.hash, gasPrice: sent.gasPrice.toString() }, "replaced a stuck keeper transaction");
        } catch (error) {
          logger.warn({ ...key, err: error }, "could not replace a stuck keeper transaction");
        }
      }
    }
  }

  /** One round: look at the watched payments, settle what was sent, send what is due. */
  async tick(): Promise<KeeperAction[]> {
    const { client, db, chainId, sender, logger } = this.options;
    const block = await client.getBlock({ blockTag: "latest" });
    const candidates = await this.views(Number(block.number));
    const calldataOf = new Map<string, Hex>();
    const due: Array<{ action: KeeperAction; data: Hex }> = [];
    for (const { view, intent, signature } of candidates) {
      for (const action of planActions(view, block.timestamp, this.options.lateCollectWindow)) {
        const data = this.calldata(action, intent, signature);
        calldataOf.set(`${action.paymentId}/${action.kind}/${action.stateKey}`, data);
        due.push({ action, data });
      }
    }
    await this.settle(calldataOf);

    const sent: KeeperAction[] = [];
    for (const { action, data } of due) {
      const nonce = await sender.reserveNonce();
      if (!(await claimAction(db, chainId, action.paymentId, action.kind, action.stateKey, nonce))) {
        sender.release(nonce);
        continue;
      }
      const key = { paymentId: action.paymentId, action: action.kind, stateKey: action.stateKey };
      try {
        const tx = await sender.send(this.options.escrow, data, nonce);
        await updateAction(db, chainId, key, { status: "sent", txHash: tx.hash, gasPrice: tx.gasPrice, attempt: true });
        logger.info({ ...key, tx: tx.hash }, "keeper sent");
        sent.push(action);
      } catch (error) {
        // Refused before broadcasting (the escrow would revert now, e.g. a stale price): nothing was sent, so the
        // claim is released and the action planned again next round.
        await deleteAction(db, chainId, key);
        sender.release(nonce);
        logger.warn({ ...key, err: (error as { shortMessage?: string }).shortMessage ?? error }, "keeper action refused before sending");
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
