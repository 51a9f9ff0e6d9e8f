import type { DashboardSession } from "../ledger/dashboardSessions";
import { PAYMENT_STATUSES } from "../payments/statuses";
import { API_KEYS_SECTION } from "./apiKeysSection";
import { moneySection } from "./moneySection";
import { webhookSection } from "./webhookSection";

export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/**
 * The head of every dashboard page: its style and script are served beside it (the CSP allows nothing else), and a
 * signed-in page carries the session's CSRF token for the script's state-changing requests.
 */
function page(title: string, body: string, csrfToken?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${csrfToken ? `<meta name="openpay-csrf" content="${escapeHtml(csrfToken)}">\n` : ""}<title>${escapeHtml(title)} — Open Pay dashboard</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
<script src="/dashboard/assets/dashboard.js" defer></script>
</head>
<body>
${body}
</body>
</html>
`;
}

/**
 * The sign-in page: one button, which has the browser wallet sign a Sign-In with Ethereum message for this gateway's
 * chain, and a live region telling each step and any refusal. `notice` says why a session ended, `problem` why this
 * gateway cannot sign in at all; `demoSignIn`, on npm start's local chain, adds the one-click sign-in as that account.
 */
export function signInPage({ chainId, notice, problem, demoSignIn }: { chainId: number; notice?: string; problem?: string; demoSignIn?: string }): string {
  const demo = demoSignIn
    ? `
  <p class="demo">On this local chain the node holds the demo merchant's key (<code>${escapeHtml(demoSignIn)}</code>): it can sign the same message for you.</p>
  <button type="button" id="demo-sign-in">Sign in as the demo merchant</button>`
    : "";
  return page(
    "Sign in",
    `<main id="sign-in-page" data-chain-id="${chainId}">
  <h1>Open Pay dashboard</h1>
  <p>Sign in with your browser wallet: the merchant's own address, or a signer the merchant authorised on the escrow. Signing in sends no transaction and costs nothing.</p>
  ${notice ? `<p class="notice" id="notice">${escapeHtml(notice)}</p>` : ""}
  ${problem ? `<p class="problem" id="problem">${escapeHtml(problem)}</p>` : `<button type="button" id="sign-in">Sign in with wallet</button>${demo}`}
  <p id="sign-in-status" role="status" aria-live="polite"></p>
  <noscript><p>Signing in needs JavaScript and a browser wallet.</p></noscript>
</main>`,
  );
}

const roleText = { merchant: "the merchant's address", signer: "an authorised signer" } as const;

/**
 * The signed-in dashboard: who is signed in to which merchant, the way out, and the payments (the filter form is here;
 * the script fills the list, a payment's page and At a glance from /dashboard/api/…). `tokens` are the symbols the
 * gateway takes.
 */
export function signedInPage(session: DashboardSession, tokens: readonly string[]): string {
  const { merchant } = session;
  const options = (values: readonly string[]) => values.map((value) => `<option value="${escapeHtml(value)}">${escapeHtml(value)}</option>`).join("");
  return page(
    merchant.name,
    `<header class="bar">
  <span class="brand">Open Pay</span>
  <button type="button" id="sign-out">Sign out</button>
</header>
<main id="dashboard" data-merchant="${escapeHtml(merchant.id)}">
  <h1 id="merchant-name">${escapeHtml(merchant.name)}</h1>
  <dl class="account">
    <dt>Merchant address</dt><dd><code id="merchant-address">${escapeHtml(merchant.address)}</code></dd>
    <dt>Signed in as</dt><dd><code id="signed-in-address">${escapeHtml(session.address)}</code> <span class="role">(${roleText[session.role]})</span></dd>
  </dl>
  <nav class="sections" aria-label="Dashboard sections">
    <a href="#overview">At a glance</a> <a href="#money">Money</a> <a href="#payments">Payments</a> <a href="#webhooks">Webhooks</a> <a href="#api-keys">API keys</a>
  </nav>
  <section id="dashboard-content" aria-label="Your shop">
    <section id="overview" aria-labelledby="overview-heading" aria-busy="true">
      <h2 id="overview-heading">At a glance</h2>
      <p id="indexer-health" class="health" data-state="unknown">Loading your figures…</p>
    </section>
    ${moneySection}
    <section id="payments" aria-labelledby="payments-heading">
      <h2 id="payments-heading" tabindex="-1">Payments</h2>
      <form id="payment-filters" class="filters">
        <label>Search <input name="search" type="search" placeholder="Payment id, order id or deposit address" autocomplete="off"></label>
        <label>Status <select name="status"><option value="">Any</option>${options(PAYMENT_STATUSES)}</select></label>
        <label>Token <select name="token"><option value="">Any</option>${options(tokens)}</select></label>
        <label>Order id <input name="order_id" autocomplete="off"></label>
        <label>Created from (UTC) <input name="created_from" type="date"></label>
        <label>Created until (UTC) <input name="created_until" type="date"></label>
        <label>Amount from (USD) <input name="amount_min" inputmode="decimal" autocomplete="off"></label>
        <label>Amount to (USD) <input name="amount_max" inputmode="decimal" autocomplete="off"></label>
        <div class="actions">
          <button type="submit">Apply filters</button>
          <a id="export-csv" class="button" href="/dashboard/api/payments.csv" download>Export CSV</a>
        </div>
      </form>
      <div class="table-wrap">
        <table id="payment-list">
          <caption>Your payments, newest first</caption>
          <thead><tr><th scope="col">Created</th><th scope="col">Order</th><th scope="col">Amount (USD)</th><th scope="col">Status</th><th scope="col">Token</th><th scope="col">Payment</th></tr></thead>
          <tbody></tbody>
        </table>
      </div>
      <button type="button" id="more-payments" hidden>Show more payments</button>
    </section>
    <section id="payment-page" aria-labelledby="payment-heading" hidden></section>
    ${webhookSection()}
    ${API_KEYS_SECTION}
  </section>
  <p id="dashboard-status" role="status" aria-live="polite"></p>
</main>`,
    session.csrfToken,
  );
}
