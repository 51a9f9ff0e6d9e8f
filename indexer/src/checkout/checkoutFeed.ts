import { RESYNC } from "../store/database";
import { isOpen } from "../payments/statuses";

/** What the feed needs to know of a page's last state to tell whether a new head concerns it. */
export interface FeedState {
  status: string;
  /** Unix seconds. */
  expiry: number;
}

/** A page's stream: gets each new state of its payment as the JSON text of one server-sent event. */
type Send = (json: string) => void;

/** Statuses whose page changes with the head alone: confirmations grow; an unpaid payment's expiry passes. */
const CONFIRMING = "confirming";

/**
 * Fans the database's payment notifications (LISTEN openpay_payments, one session per API process) out to the open
 * checkout pages (one server-sent event stream each). A payment's state is read once per notification however many
 * pages show it, a notification arriving while it is read makes one more read after it, and a page is sent a state
 * only when it differs from the one it was last sent.
 */
export class CheckoutFeed<S extends FeedState> {
  private readonly pages = new Map<string, { sends: Set<Send>; last?: S; lastJson?: string; reading: boolean; again: boolean }>();

  constructor(private readonly read: (paymentId: string) => Promise<S | undefined>) {}

  /**
   * Adds a page of `paymentId` and sends it the state now (read after it joined, so that no change falls between);
   * returns what removes it.
   */
  subscribe(paymentId: string, send: Send): () => void {
    let page = this.pages.get(paymentId);
    if (!page) {
      page = { sends: new Set(), reading: false, again: false };
      this.pages.set(paymentId, page);
    }
    page.sends.add(send);
    if (page.lastJson !== undefined && !page.reading) send(page.lastJson);
    else void this.refresh(paymentId, send);
    return () => {
      const current = this.pages.get(paymentId);
      if (!current) return;
      current.sends.delete(send);
      if (current.sends.size === 0) this.pages.delete(paymentId);
    };
  }

  /**
   * A notification's payload: a payment id, `head:<unix time>` when the indexer's checkpoint moved, or RESYNC when the
   * LISTEN session was lost (every open page is read again).
   */
  notified(payload: string): void {
    if (payload === RESYNC) {
      for (const id of this.pages.keys()) void this.refresh(id);
      return;
    }
    if (!payload.startsWith("head:")) {
      if (this.pages.has(payload)) void this.refresh(payload);
      return;
    }
    const time = Number(payload.slice("head:".length));
    for (const [id, page] of this.pages) {
      const last = page.last;
      if (!last || last.status === CONFIRMING || (isOpen(last.status) && last.expiry < time)) void this.refresh(id);
    }
  }

  /** Every open page's send, for the heartbeat. */
  forEach(callback: (send: Send) => void): void {
    for (const page of this.pages.values()) for (const send of page.sends) callback(send);
  }

  /** Reads the payment and sends its state to its pages (and always to `joined`, a page that has none yet). */
  private async refresh(paymentId: string, joined?: Send): Promise<void> {
    const page = this.pages.get(paymentId);
    if (!page) return;
    if (page.reading) {
      page.again = true;
      if (joined) page.lastJson = undefined;
      return;
    }
    page.reading = true;
    try {
      do {
        page.again = false;
        const state = await this.read(paymentId).catch(() => undefined);
        if (!state) continue;
        const json = JSON.stringify(state);
        const changed = json !== page.lastJson;
        page.last = state;
        page.lastJson = json;
        for (const send of page.sends) if (changed || send === joined) send(json);
        joined = undefined;
      } while (page.again);
    } finally {
      page.reading = false;
    }
  }
}
