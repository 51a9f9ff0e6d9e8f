import type { PaymentOption } from "../api/paymentResource";
import type { PaymentStatus } from "../payments/statuses";

/** What the hosted checkout shows: the order, and how to pay it in each token. */
export interface CheckoutView {
  paymentId: string;
  merchantName: string;
  description: string | null;
  amountUsd: string;
  remainingUsd: string;
  status: PaymentStatus;
  network: string;
  depositAddress: string;
  expiresAt: string;
  cancelUrl: string | null;
  /** Each token with its QR code (an SVG of the EIP-681 URI). */
  options: Array<PaymentOption & { qrSvg: string }>;
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The chain's name as a customer's wallet shows it. */
export function networkName(chainId: number): string {
  if (chainId === 56) return "BNB Smart Chain (BEP-20)";
  if (chainId === 97) return "BNB Smart Chain testnet";
  if (chainId === 31337) return "Local test chain (31337)";
  return `Chain ${chainId}`;
}

/** A value with a copy button: wallets misread EIP-681 URIs often enough that the parts must be copyable. */
function copyable(label: string, value: string): string {
  return `<div class="field"><span class="label">${escape(label)}</span><code>${escape(value)}</code><button type="button" class="copy" data-copy="${escape(value)}" aria-label="Copy ${escape(label.toLowerCase())}">Copy</button></div>`;
}

/**
 * How to pay in each token: the QR code of its EIP-681 URI, and the amount, address and network to copy. The page
 * shows the first; its script swaps this fragment (`/checkout/<id>/options`) when an underpaid payment's remaining
 * amount changes.
 */
export function paymentOptionsHtml(view: Pick<CheckoutView, "options" | "depositAddress" | "network">): string {
  return view.options
    .map(
      (option, i) => `
      <section class="option" id="option-${escape(option.token)}" data-token="${escape(option.token)}"${i === 0 ? "" : " hidden"} aria-label="Pay with ${escape(option.token)}">
        <a class="qr" href="${escape(option.uri)}" aria-label="Open ${escape(option.token)} payment in a wallet">${option.qrSvg}</a>
        <p class="send">Send exactly <strong><span class="amount-value">${escape(option.amount)}</span> ${escape(option.token)}</strong></p>
        ${copyable("Amount", option.amount)}
        ${copyable("To address", view.depositAddress)}
        ${copyable("Network", view.network)}
        <p class="uri"><a href="${escape(option.uri)}">Open in wallet</a></p>
      </section>`,
    )
    .join("");
}

/**
 * The checkout page: server-rendered, so that it works before its script loads, and with nothing loaded from
 * another origin (its style and script are served beside it). Mobile first; the token choice is a radio group and
 * the status a live region, so that a keyboard or a screen reader can follow the payment.
 */
export function checkoutPage(view: CheckoutView): string {
  const choices = view.options
    .map(
      (option, i) =>
        `<label><input type="radio" name="token" value="${escape(option.token)}"${i === 0 ? " checked" : ""}> ${escape(option.token)} <span class="amount">${escape(option.amount)}</span></label>`,
    )
    .join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay ${escape(view.merchantName)} — Open Pay</title>
<link rel="stylesheet" href="/checkout/assets/checkout.css">
<script src="/checkout/assets/checkout.js" defer></script>
</head>
<body>
<main id="checkout" data-payment="${escape(view.paymentId)}" data-expires="${escape(view.expiresAt)}" data-status="${escape(view.status)}"${view.cancelUrl ? ` data-cancel="${escape(view.cancelUrl)}"` : ""}>
  <header>
    <h1>${escape(view.merchantName)}</h1>
    ${view.description ? `<p class="description">${escape(view.description)}</p>` : ""}
    <p class="total">$${escape(view.amountUsd)} <span class="currency">USD</span></p>
  </header>
  <p id="status" role="status" aria-live="polite">${escape(statusText(view.status, view.remainingUsd))}</p>
  <p id="countdown" aria-live="off">Expires at <time datetime="${escape(view.expiresAt)}">${escape(view.expiresAt)}</time></p>
  <fieldset class="tokens"><legend>Pay with</legend>${choices}</fieldset>
  <div id="options">${paymentOptionsHtml(view)}</div>
  <section id="wallet" hidden aria-label="Pay from a browser wallet">
    <button type="button" id="pay-wallet">Pay with browser wallet</button>
    <p id="wallet-status" role="status" aria-live="polite"></p>
  </section>
  ${view.cancelUrl ? `<p><a class="cancel" href="${escape(view.cancelUrl)}">Cancel and return to ${escape(view.merchantName)}</a></p>` : ""}
</main>
</body>
</html>
`;
}

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
