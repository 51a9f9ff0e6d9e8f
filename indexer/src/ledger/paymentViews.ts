import type { DeploymentRecord } from "../chain/deployment";
import { tokenCatalogue } from "../chain/tokenCatalogue";
import { confirmationsOf, type ConfirmationPolicy } from "../payments/confirmations";
import { readCheckpoint } from "../store/checkpointStore";
import { historyOf, loadPaymentDetail, transactionsOf, type PaymentRecord } from "../store/paymentRequestStore";
import type { Db } from "../store/paymentStore";
import { paymentResource, type HistoryEntry, type PaymentResource, type TokenInfo } from "../payments/paymentResource";
import type { Hex } from "viem";

export interface PaymentViewSettings {
  chainId: number;
  tokens: ReadonlyMap<string, TokenInfo>;
  /** The API's public base URL: checkout pages are at `<publicUrl>/checkout/<payment id>`. */
  publicUrl: string;
  confirmations: ConfirmationPolicy;
}

export function checkoutUrl(publicUrl: string, paymentId: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/checkout/${paymentId}`;
}

/** Turns stored payments into API resources: the one place that reads what a resource needs besides the record. */
export class PaymentViews {
  constructor(private readonly settings: PaymentViewSettings) {}

  get chainId(): number {
    return this.settings.chainId;
  }

  get tokens(): ReadonlyMap<string, TokenInfo> {
    return this.settings.tokens;
  }

  get publicUrl(): string {
    return this.settings.publicUrl;
  }

  /** Resources of `records`, with their transactions and confirmations at the indexer's checkpoint. */
  async resources(db: Db, records: readonly PaymentRecord[], withHistory = false): Promise<PaymentResource[]> {
    const { chainId } = this.settings;
    const ids = records.map((record) => record.payment.id);
    // The histories are read beside the rest, not after it (asked for one record: a refund's answer).
    const [transactions, checkpoint, histories] = await Promise.all([
      transactionsOf(db, chainId, ids),
      readCheckpoint(db, chainId),
      withHistory ? Promise.all(ids.map((id) => historyOf(db, chainId, id))) : undefined,
    ]);
    return records.map((record, i) => this.resourceOf(record, transactions.get(record.payment.id) ?? [], checkpoint?.blockNumber, histories?.[i]));
  }

  /** One payment of the merchant in `mode`, with its history; undefined when it is not theirs (or not there). */
  async one(db: Db, id: string, owner: { merchantId: string; mode: string }): Promise<PaymentResource | undefined> {
    const detail = await loadPaymentDetail(db, this.settings.chainId, id.toLowerCase());
    if (!detail || detail.record.merchantId !== owner.merchantId || detail.record.mode !== owner.mode) return undefined;
    return this.resourceOf(detail.record, detail.transactions, detail.checkpointBlock, detail.history);
  }

  private resourceOf(record: PaymentRecord, transactions: Hex[], checkpointBlock: number | undefined, history?: HistoryEntry[]): PaymentResource {
    const completed = record.payment.completedBlock;
    const seen = completed !== null && checkpointBlock !== undefined ? confirmationsOf(completed, checkpointBlock) : 0;
    return paymentResource({
      mode: record.mode,
      chainId: this.settings.chainId,
      payment: record.payment,
      registration: record.registration,
      request: record.request,
      updatedAt: record.updatedAt,
      tokens: this.settings.tokens,
      checkoutUrl: checkoutUrl(this.settings.publicUrl, record.payment.id),
      confirmations: { seen: Math.min(seen, this.settings.confirmations.depth), required: this.settings.confirmations.depth },
      transactions,
      history,
    });
  }
}

/** Payment resources of a deployment's payments, with checkout links under `publicUrl`. */
export function paymentViewsFor(record: DeploymentRecord, publicUrl: string, confirmations: ConfirmationPolicy): PaymentViews {
  return new PaymentViews({ chainId: record.chainId, tokens: tokenCatalogue(record), publicUrl, confirmations });
}
