import type { DeploymentRecord } from "../chain/deployment";
import { tokenCatalogue } from "../chain/tokenCatalogue";
import { confirmationsOf, type ConfirmationPolicy } from "../payments/confirmations";
import { readCheckpoint } from "../store/checkpointStore";
import { historyOf, loadPaymentRecords, transactionsOf, type PaymentRecord } from "../store/paymentRequestStore";
import type { Db } from "../store/paymentStore";
import { paymentResource, type PaymentResource, type TokenInfo } from "../payments/paymentResource";

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
    // The histories are read beside the rest, not after it (one record when asked for: GET /v1/payments/:id).
    const [transactions, checkpoint, histories] = await Promise.all([
      transactionsOf(db, chainId, ids),
      readCheckpoint(db, chainId),
      withHistory ? Promise.all(ids.map((id) => historyOf(db, chainId, id))) : undefined,
    ]);
    return records.map((record, i) => {
      const completed = record.payment.completedBlock;
      const seen = completed !== null && checkpoint ? confirmationsOf(completed, checkpoint.blockNumber) : 0;
      return paymentResource({
        mode: record.mode,
        chainId,
        payment: record.payment,
        registration: record.registration,
        request: record.request,
        updatedAt: record.updatedAt,
        tokens: this.settings.tokens,
        checkoutUrl: checkoutUrl(this.settings.publicUrl, record.payment.id),
        confirmations: { seen: Math.min(seen, this.settings.confirmations.depth), required: this.settings.confirmations.depth },
        transactions: transactions.get(record.payment.id) ?? [],
        history: histories?.[i],
      });
    });
  }

  /** One payment of the merchant in `mode`, with its history; undefined when it is not theirs (or not there). */
  async one(db: Db, id: string, owner: { merchantId: string; mode: string }): Promise<PaymentResource | undefined> {
    const record = (await loadPaymentRecords(db, this.settings.chainId, [id.toLowerCase()])).get(id.toLowerCase());
    if (!record || record.merchantId !== owner.merchantId || record.mode !== owner.mode) return undefined;
    return (await this.resources(db, [record], true))[0];
  }
}

/** Payment resources of a deployment's payments, with checkout links under `publicUrl`. */
export function paymentViewsFor(record: DeploymentRecord, publicUrl: string, confirmations: ConfirmationPolicy): PaymentViews {
  return new PaymentViews({ chainId: record.chainId, tokens: tokenCatalogue(record), publicUrl, confirmations });
}
