import type { CheckoutState } from "./checkoutReader";
import type { PaymentOption } from "../payments/paymentResource";
import type { PaymentStatus } from "../payments/statuses";
import type { CheckoutProgress } from "./checkoutProgress";
import { tokenLogoPath } from "./tokenLogos";

/** What the hosted checkout shows: the order, where the payment stands, and how to pay it in each token. */
export interface CheckoutView {
  paymentId: string;
  merchantName: string;
  description: string | null;
  amountUsd: string;
  state: CheckoutState;
  network: string;
  depositAddress: string;
  /** Each token with its QR code (an SVG of the EIP-681 URI); none once the page no longer asks for money. */
  options: Array<PaymentOption & { qrSvg: string }>;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The chain's name as a customer's wallet shows it. */
export function networkName(chainId: number): string {
  if (chainId === 56) return "BNB Smart Chain (BEP-20)";
  if (chainId === 97) return "BNB Smart Chain testnet";
  if (chainId === 31337) return "Local test chain (31337)";
  return `Chain ${chainId}`;
}

/** A value with a copy button: wallets misread EIP-681 URIs often enough that the parts must be copyable. */
function copyable(label: string, value: string): string {
  return `<div class="field"><span class="label">${escapeHtml(label)}</span><code>${escapeHtml(value)}</code><button type="button" class="copy" data-copy="${escapeHtml(value)}" aria-label="Copy ${escapeHtml(label.toLowerCase())}">Copy</button></div>`;
}

/**
 * How to pay in each token: the QR code of its EIP-681 URI, and the amount, address and network to copy. The page
 * shows the first; its script swaps this fragment (`/checkout/<id>/options`) when an underpaid payment's remaining
 * amount changes.
 */
export function paymentOptionsHtml(view: Pick<CheckoutView, "options" | "depositAddress" | "network">): string {
  return (
    `<p class="send-only" id="send-only">${escapeHtml(
      sendOnlyLine(
        view.options.map((option) => option.token),
        view.network,
      ),
    )}</p>` +
    view.options
      .map(
        (option, i) => `
      <section class="option" id="option-${escapeHtml(option.token)}" data-token="${escapeHtml(option.token)}"${i === 0 ? "" : " hidden"} aria-label="Pay with ${escapeHtml(option.token)}">
        <a class="qr" href="${escapeHtml(option.uri)}" aria-label="Open ${escapeHtml(option.token)} payment in a wallet">${option.qrSvg}</a>
        <p class="send">Send exactly <strong><span class="amount-value">${escapeHtml(option.amount)}</span> ${escapeHtml(option.token)}</strong></p>
        ${copyable("Amount", option.amount)}
        ${copyable("To address", view.depositAddress)}
        ${copyable("Network", view.network)}
        <p class="uri"><a href="${escapeHtml(option.uri)}">Open in wallet</a></p>
      </section>`,
      )
      .join("")
  );
}

/** "Send only USDT, USDC or BNB on BNB Smart Chain": the tokens offered, on the network's name without its suffix. */
export function sendOnlyLine(tokens: readonly string[], network: string): string {
  const names = tokens.length > 1 ? `${tokens.slice(0, -1).join(", ")} or ${tokens.at(-1)}` : (tokens[0] ?? "");
  return `Send only ${names} on ${network.replace(/ \(BEP-20\)$/, "")}`;
}

const shortHash = (hash: string) => `${hash.slice(0, 10)}…${hash.slice(-8)}`;

/**
 * Where the money stands, below the status: the shopper's transactions, the refunds made, what happens to the money
 * (an expired or failed payment), and the way back to the shop. The page's script swaps it when the status changes.
 */
export function progressHtml({
  status,
  progress,
  returnUrl,
  merchantName,
}: {
  status: PaymentStatus;
  progress: CheckoutProgress;
  returnUrl: string | null;
  merchantName: string;
}): string {
  const received = progress.received.length
    ? `<h2>Received</h2><ul class="transfers" id="received">${progress.received
        .map(
          (t) =>
            `<li><span class="sent">${escapeHtml(t.amount)} ${escapeHtml(t.token)}</span> <code title="${escapeHtml(t.transaction_hash)}">${escapeHtml(shortHash(t.transaction_hash))}</code></li>`,
        )
        .join("")}</ul>`
    : "";
  const refunded = progress.refunded.length
    ? `<h2>Refunded</h2><ul class="transfers" id="refunded">${progress.refunded
        .map(
          (t) =>
            `<li><span class="sent">${escapeHtml(t.amount)} ${escapeHtml(t.token)}</span> to <code>${escapeHtml(t.to)}</code> <code title="${escapeHtml(t.transaction_hash)}">${escapeHtml(shortHash(t.transaction_hash))}</code></li>`,
        )
        .join("")}</ul>`
    : "";
  const note = progress.note ? `<p class="note" id="note">${escapeHtml(progress.note)}</p>` : "";
  const back =
    (status === "expired" || status === "failed") && returnUrl
      ? `<p><a class="button" id="return" href="${escapeHtml(returnUrl)}">Back to ${escapeHtml(merchantName)}</a></p><p class="returning" id="returning">Returning to ${escapeHtml(merchantName)} in a few seconds…</p>`
      : "";
  return received + refunded + note + back;
}

/**
 * The checkout page: server-rendered, so that it works before its script loads (and without it), and with nothing
 * loaded from another origin (its style, script and logos are served beside it). Mobile first; the token choice is a
 * radio group and the status a live region, so that a keyboard or a screen reader can follow the payment. From
 * `confirming` on it asks for nothing: no QR code, amount or copy button, only where the money stands.
 */
export function checkoutPage(view: CheckoutView): string {
  const { state } = view;
  const choices = view.options
    .map((option, i) => {
      const logo = tokenLogoPath(option.token);
      return `<label><input type="radio" name="token" value="${escapeHtml(option.token)}"${i === 0 ? " checked" : ""}>${logo ? ` <img class="logo" src="${logo}" alt="" width="20" height="20">` : ""} ${escapeHtml(option.token)} <span class="amount">${escapeHtml(option.amount)}</span></label>`;
    })
    .join("");
  const final =
    state.status === "paid" || state.status === "refunding" || state.status === "partially_refunded" || state.status === "refunded"
      ? "paid"
      : state.status === "expired" || state.status === "failed"
        ? state.status
        : "";
  const countdown = !state.payable
    ? ""
    : state.timer_paused
      ? PAUSED_TEXT
      : `Expires at <time datetime="${escapeHtml(state.expires_at)}">${escapeHtml(state.expires_at)}</time>`;
  const paying = state.payable
    ? `<fieldset class="tokens"><legend>Pay with</legend>${choices}</fieldset>
  <div id="options">${paymentOptionsHtml(view)}</div>
  <section id="wallet" hidden aria-label="Pay from a browser wallet">
    <button type="button" id="pay-wallet">Pay with browser wallet</button>
    <p id="wallet-status" role="status" aria-live="polite"></p>
  </section>
  ${state.cancel_url ? `<p><a class="cancel" href="${escapeHtml(state.cancel_url)}">Cancel and return to ${escapeHtml(view.merchantName)}</a></p>` : ""}`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay ${escapeHtml(view.merchantName)} — Open Pay</title>
<link rel="stylesheet" href="/checkout/assets/checkout.css">
<script src="/checkout/assets/checkout.js" defer></script>
</head>
<body>
<main id="checkout" data-payment="${escapeHtml(view.paymentId)}" data-expires="${escapeHtml(state.expires_at)}" data-status="${escapeHtml(state.status)}" data-paused="${state.timer_paused}">
  <header>
    <h1>${escapeHtml(view.merchantName)}</h1>
    ${view.description ? `<p class="description">${escapeHtml(view.description)}</p>` : ""}
    <p class="total">$${escapeHtml(view.amountUsd)} <span class="currency">USD</span></p>
  </header>
  <p id="status" role="status" aria-live="polite"${final ? ` data-final="${final}"` : ""}>${escapeHtml(state.text)}</p>
  <p id="countdown" aria-live="off" data-paused-text="${PAUSED_TEXT}">${countdown}</p>
  ${state.payable ? `<p class="timer-note" id="timer-note">The timer pauses once a transaction is detected on chain.</p>` : ""}
  <section id="progress" aria-label="Your payment">${state.progress_html}</section>
  ${paying}
</main>
</body>
</html>
`;
}

/** The countdown's text once a transaction was detected: the payment waits for it rather than running out. */
export const PAUSED_TEXT = "Timer paused: a transaction was detected on chain";

/** The status as the customer reads it. */
export function statusText(status: PaymentStatus, remainingUsd: string): string {
  switch (status) {
    case "initiated":
      return "Waiting for payment";
    case "pending":
      return `Waiting for payment: $${remainingUsd} to pay`;
    case "confirming":
      return "Payment received, confirming on chain";
    case "paid":
    case "refunding":
    case "partially_refunded":
    case "refunded":
      return "Paid. Thank you!";
    case "failed":
      return "The payment failed";
    case "expired":
      return "This payment has expired";
  }
}
