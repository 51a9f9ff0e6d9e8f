/**
 * A payment's page in the signed-in dashboard: its amounts, checkout link, timeline (every status change), its
 * transactions linked to the chain's explorer (none on a local chain), and its webhook events with each delivery
 * attempt. Read from /dashboard/api/payments/:id.
 */
import { element, problemOf, say } from "./elements";
import { refundForm } from "./money";
import { time, webhookEventList, type WebhookEvent } from "./webhookEventList";

interface Amount {
  amount: string | null;
  amount_units: string;
  token: { symbol: string | null };
  transaction_hash: string | null;
}

interface PaymentDetail {
  payment: {
    id: string;
    status: string;
    amount_usd: string;
    received_usd: string;
    excess_usd: string;
    token: { symbol: string } | null;
    paid_amount: string | null;
    fee: string | null;
    refunded_amount: string | null;
    refund_pending_amount: string | null;
    refunds: Amount[];
    returned_transfers: Amount[];
    order_id: string | null;
    description: string | null;
    deposit_address: string;
    checkout_url: string;
    created_at: string;
    transactions: string[];
    history?: Array<{ sequence: number; from: string; to: string; reason: string; transaction_hash: string | null; at: string }>;
  };
  explorer: { name: string } | null;
  transaction_links: Record<string, string | null>;
  webhook_events: WebhookEvent[];
}

export async function showPaymentPage(section: HTMLElement, id: string): Promise<boolean> {
  say("Loading the payment…");
  const answer = await fetch(`/dashboard/api/payments/${encodeURIComponent(id)}`, { cache: "no-store" }).catch(() => undefined);
  if (!answer?.ok) {
    say(`Payment not shown: ${answer ? await problemOf(answer) : "the gateway did not answer"}`, true);
    return false;
  }
  const { payment, explorer, transaction_links: links, webhook_events: events } = (await answer.json()) as PaymentDetail;
  const transaction = (hash: string) => {
    const url = links[hash];
    return url
      ? element(
          "a",
          { href: url, rel: "noopener noreferrer", target: "_blank", class: "hash" },
          hash,
          element("span", { class: "visually-hidden" }, ` (on ${explorer?.name}, opens a new tab)`),
        )
      : element("code", { class: "hash" }, hash);
  };
  const amounts: Array<[string, Node | string]> = [
    ["Status", element("span", { class: "status", "data-status": payment.status, id: "payment-status" }, payment.status.replace("_", " "))],
    ["Amount", `${payment.amount_usd} USD`],
    ["Received", `${payment.received_usd} USD${payment.paid_amount && payment.token ? ` (${payment.paid_amount} ${payment.token.symbol})` : ""}`],
    ["Excess", `${payment.excess_usd} USD`],
    ["Fee", payment.fee && payment.token ? `${payment.fee} ${payment.token.symbol}` : "—"],
    ["Refunded", payment.refunded_amount && payment.token ? `${payment.refunded_amount} ${payment.token.symbol}` : "—"],
    ["Refund pending", payment.refund_pending_amount && payment.token ? `${payment.refund_pending_amount} ${payment.token.symbol}` : "—"],
    [
      "Returned",
      payment.returned_transfers.length === 0
        ? "—"
        : payment.returned_transfers
            .map((returned) => `${returned.amount ?? `${returned.amount_units} units`} ${returned.token.symbol ?? "unknown token"}`)
            .join(", "),
    ],
    ["Order id", payment.order_id ?? "—"],
    ["Description", payment.description ?? "—"],
    ["Deposit address", element("code", {}, payment.deposit_address)],
    ["Checkout", element("a", { href: payment.checkout_url, id: "checkout-link" }, "Open the checkout page")],
    ["Created", time(payment.created_at)],
  ];
  const heading = element("h2", { id: "payment-heading", tabindex: "-1" }, "Payment ", element("code", {}, payment.id));
  const back = element("a", { href: "/dashboard", id: "back-to-payments" }, "← All payments");
  const timeline = element(
    "ol",
    { id: "timeline", class: "timeline" },
    ...(payment.history ?? []).map((entry) =>
      element(
        "li",
        { "data-sequence": String(entry.sequence) },
        time(entry.at),
        ` #${entry.sequence}: ${entry.from.replace("_", " ")} → ${entry.to.replace("_", " ")}, `,
        element("span", { class: "reason" }, entry.reason),
        ...(entry.transaction_hash ? [" ", transaction(entry.transaction_hash)] : []),
      ),
    ),
  );
  const hashes = Object.keys(links);
  const webhooks =
    events.length === 0
      ? element("p", { id: "webhook-events" }, "No webhook events for this payment (no endpoint, or none sent yet).")
      : webhookEventList(events);
  section.replaceChildren(
    back,
    heading,
    element("dl", { class: "account amounts" }, ...amounts.flatMap(([term, value]) => [element("dt", {}, term), element("dd", {}, value)])),
    refundForm(payment, () => showPaymentPage(section, id)) ?? "",
    element("h3", {}, "Timeline"),
    timeline,
    element("h3", {}, "Transactions"),
    hashes.length === 0
      ? element("p", { id: "transactions" }, "No transactions yet.")
      : element("ul", { id: "transactions" }, ...hashes.map((hash) => element("li", {}, transaction(hash)))),
    ...(explorer ? [] : [element("p", { class: "note" }, "This chain has no public block explorer: transactions are shown without links.")]),
    element("h3", {}, "Webhooks"),
    webhooks,
  );
  say(`Payment ${payment.id.slice(0, 10)}… shown: ${payment.status.replace("_", " ")}.`);
  return true;
}
