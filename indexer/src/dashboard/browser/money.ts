/**
 * The dashboard's money, in the merchant's browser: balances per token as the indexer has them, a withdrawal, and a
 * payment's refund. The gateway prepares each escrow call (checked by the API's own rules); the escrow takes it from
 * the merchant's address only, so the merchant's wallet (EIP-1193, window.ethereum) sends it, and the page follows it
 * by the indexer's confirmations until the balance has moved. A merchant whose address is a Safe proposes the call
 * in the Safe instead: the page shows what to propose (to, value, data).
 */
import { BaseError, createClient, custom, UserRejectedRequestError, type EIP1193Provider, type Hex } from "viem";
import { getChainId, requestAddresses, sendTransaction, switchChain } from "viem/actions";
import { element, problemOf } from "./elements";
import { sendChange } from "./changeRequest";

type Sender = "wallet" | "safe" | "merchant";

interface Balances {
  as_of: { block_number: number | null; confirmed_block_number: number | null };
  sender: Sender;
  data: Array<{
    token: { symbol: string };
    balance: string;
    confirmed: string;
    withdrawable: string;
    pending: { confirming_payments: string; unconfirmed_debits: string; refunds_requested: string };
    fees: string;
  }>;
}

/** An escrow call the gateway prepared: a withdrawal request or a refund. */
interface Prepared {
  amount: string;
  token: { symbol: string };
  transaction: { chain_id: number; from: Hex; to: Hex; data: Hex; value: string };
}

type TransactionState =
  | { state: "sent" | "confirming" | "confirmed"; block_number: number | null; confirmations: number; confirmations_required: number }
  | { state: "failed"; block_number: number; reason: string };

/** How long the page waits between two looks at a sent transaction. */
const FOLLOW_EVERY_MS = 1500;
/**
 * How many looks in a row may find the gateway unreachable (or failing, a 5xx) before the page stops following: single
 * failures pass (a restart, a node's hiccup), a gateway gone for this long is told rather than asked forever.
 */
const FOLLOW_FAILURES_TOLD = 10;

let sender: Sender = "wallet";

/**
 * A live region's message, with the state a test or a style can read. A region its page replaced meanwhile (a
 * refunded payment's page shown again) hands over to the dashboard's own.
 */
function tell(region: HTMLElement, text: string, state: "working" | "sent" | "confirming" | "confirmed" | "failed" | "cancelled" | "propose"): void {
  const target = region.isConnected ? region : document.getElementById("dashboard-status");
  if (!target) return;
  target.textContent = text;
  target.dataset.state = state;
}

/** What the page does as a sent call goes: shows each confirmation, shows the end, or withdraws what was not sent. */
interface Follow {
  progress?: () => Promise<unknown>;
  settled: () => Promise<unknown>;
  abandon?: () => Promise<void>;
}

/** Fills the balances table and the withdrawal form's token list from /dashboard/api/balances. */
async function loadBalances(section: HTMLElement): Promise<void> {
  const region = section.querySelector<HTMLElement>("#money-status")!;
  const answer = await fetch("/dashboard/api/balances", { cache: "no-store" }).catch(() => undefined);
  if (!answer?.ok) return tell(region, `Balances not shown: ${answer ? await problemOf(answer) : "the gateway did not answer"}`, "failed");
  const balances = (await answer.json()) as Balances;
  sender = balances.sender;
  const { block_number: block, confirmed_block_number: confirmed } = balances.as_of;
  section.querySelector("#balances caption")!.textContent =
    block === null ? "The indexer has not read the chain yet." : `Balances as of block ${block} (final up to block ${Math.max(confirmed ?? 0, 0)})`;
  section
    .querySelector("#balances tbody")!
    .replaceChildren(
      ...balances.data.map((row) =>
        element(
          "tr",
          { "data-token": row.token.symbol },
          element("th", { scope: "row" }, row.token.symbol),
          ...[
            row.balance,
            row.confirmed,
            row.pending.confirming_payments,
            row.pending.unconfirmed_debits,
            row.pending.refunds_requested,
            row.withdrawable,
            row.fees,
          ].map((value) => element("td", { class: "amount" }, value)),
        ),
      ),
    );
  const select = section.querySelector<HTMLSelectElement>("#withdraw-token")!;
  const chosen = select.value;
  select.replaceChildren(...balances.data.map((row) => element("option", { value: row.token.symbol }, row.token.symbol)));
  if (chosen) select.value = chosen;
}

/** The balances and the withdrawal form, in the page's #money section. */
export function startMoney(): void {
  const section = document.getElementById("money");
  if (!section) return;
  const form = section.querySelector<HTMLFormElement>("#withdraw-form")!;
  const region = section.querySelector<HTMLElement>("#money-status")!;
  const proposal = section.querySelector<HTMLElement>("#withdraw-proposal")!;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const amount = String(data.get("amount") ?? "").trim() || "all";
    const button = form.querySelector("button")!;
    button.disabled = true;
    void (async () => {
      tell(region, "Preparing the withdrawal…", "working");
      const answer = await sendChange("POST", "/dashboard/api/withdrawals", { token: data.get("token"), amount });
      if (!answer?.ok) return tell(region, `Not withdrawn: ${answer ? await problemOf(answer) : "the gateway did not answer"}`, "failed");
      const prepared = (await answer.json()) as Prepared;
      const reload = () => loadBalances(section);
      await sendOrPropose(prepared, `the withdrawal of ${prepared.amount} ${prepared.token.symbol}`, region, proposal, { progress: reload, settled: reload });
    })().finally(() => {
      button.disabled = false;
    });
  });
  void loadBalances(section);
}

/**
 * A paid payment's refund form on its page (`paymentPage.ts`): nothing for a payment that cannot be refunded. After
 * the refund is confirmed, `reload` shows the payment again.
 */
export function refundForm(payment: { id: string; status: string; token: { symbol: string } | null }, reload: () => Promise<unknown>): HTMLElement | null {
  if (!["paid", "partially_refunded"].includes(payment.status) || !payment.token) return null;
  const region = element("p", { id: "refund-status", role: "status", "aria-live": "polite" });
  const proposal = element("div", { id: "refund-proposal" });
  const button = element("button", { type: "submit" }, "Refund");
  const form = element(
    "form",
    { id: "refund-form", class: "filters" },
    element(
      "label",
      {},
      `Amount (${payment.token.symbol}; empty: all still refundable)`,
      element("input", { name: "amount", inputmode: "decimal", autocomplete: "off" }),
    ),
    element("label", {}, "To (empty: the payment's refund address)", element("input", { name: "to", autocomplete: "off", spellcheck: "false" })),
    element("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body: Record<string, string> = {};
    for (const field of ["amount", "to"]) {
      const value = String(data.get(field) ?? "").trim();
      if (value) body[field] = value;
    }
    button.disabled = true;
    void (async () => {
      tell(region, "Preparing the refund…", "working");
      const path = `/dashboard/api/payments/${encodeURIComponent(payment.id)}/refunds`;
      const answer = await sendChange("POST", path, body);
      if (!answer?.ok) return tell(region, `Not refunded: ${answer ? await problemOf(answer) : "the gateway did not answer"}`, "failed");
      const prepared = (await answer.json()) as Prepared;
      // A refund the wallet did not send is withdrawn, so that the payment does not stay `refunding`.
      const abandon = async () => void (await sendChange("POST", `${path}/cancel`));
      await sendOrPropose(prepared, `the refund of ${prepared.amount} ${prepared.token.symbol}`, region, proposal, { settled: reload, abandon });
    })().finally(() => {
      button.disabled = false;
    });
  });
  return element("section", { id: "refund", "aria-labelledby": "refund-heading" }, element("h3", { id: "refund-heading" }, "Refund"), form, region, proposal);
}

/**
 * Has the merchant's wallet send a prepared escrow call and follows it to its confirmation (calling `settled` then),
 * or, for a Safe or a signer, shows the call to propose.
 */
async function sendOrPropose(prepared: Prepared, what: string, region: HTMLElement, proposal: HTMLElement, then: Follow): Promise<void> {
  const { abandon } = then;
  const { transaction } = prepared;
  proposal.replaceChildren();
  if (sender !== "wallet") {
    proposal.replaceChildren(
      element(
        "p",
        {},
        sender === "safe"
          ? `The merchant's address ${transaction.from} is a Safe: propose this transaction in it (Transaction Builder: to, value, data); it leaves the balance once its owners execute it.`
          : `Only the merchant's address ${transaction.from} can send this transaction: propose it there (to, value, data).`,
      ),
      element(
        "dl",
        { class: "account proposal" },
        element("dt", {}, "To"),
        element("dd", {}, element("code", { class: "proposal-to" }, transaction.to)),
        element("dt", {}, "Value"),
        element("dd", {}, element("code", { class: "proposal-value" }, transaction.value)),
        element("dt", {}, "Data"),
        element("dd", {}, element("code", { class: "proposal-data" }, transaction.data)),
      ),
    );
    return tell(region, `Ready to propose: ${what}.`, "propose");
  }
  const provider = (window as unknown as { ethereum?: EIP1193Provider }).ethereum;
  if (!provider) {
    await abandon?.();
    return tell(region, "No browser wallet found: install one (MetaMask, Rabby, Coinbase Wallet…) and reload this page.", "failed");
  }
  let hash: Hex;
  try {
    const wallet = createClient({ transport: custom(provider) });
    tell(region, "Asking your wallet for its address…", "working");
    const [account] = await requestAddresses(wallet);
    if (account.toLowerCase() !== transaction.from.toLowerCase()) {
      await abandon?.();
      return tell(
        region,
        `Your wallet's account ${account} is not the merchant's address ${transaction.from}: switch accounts in the wallet and try again.`,
        "failed",
      );
    }
    if ((await getChainId(wallet)) !== transaction.chain_id) await switchChain(wallet, { id: transaction.chain_id });
    tell(region, `Confirm ${what} in your wallet…`, "working");
    hash = await sendTransaction(wallet, { account, chain: null, to: transaction.to, data: transaction.data, value: BigInt(transaction.value) });
  } catch (error) {
    await abandon?.();
    if (error instanceof BaseError && error.walk((cause) => cause instanceof UserRejectedRequestError)) {
      return tell(region, "You declined in your wallet: nothing was sent.", "cancelled");
    }
    return tell(region, `Not sent: ${error instanceof BaseError ? error.shortMessage : (error as Error).message}`, "failed");
  }
  tell(region, `Sent: transaction ${hash}, waiting for the gateway to see it mined…`, "sent");
  await follow(hash, what, region, then);
}

/** Looks at a sent transaction until it is confirmed or failed, telling each change. */
async function follow(hash: Hex, what: string, region: HTMLElement, { progress, settled, abandon }: Follow): Promise<void> {
  let last = "";
  let failures = 0;
  for (;;) {
    const answer = await fetch(`/dashboard/api/transactions/${hash}`, { cache: "no-store" }).catch(() => undefined);
    if (answer && !answer.ok && answer.status < 500) return tell(region, `Transaction ${hash} not followed: ${await problemOf(answer)}`, "failed");
    failures = answer?.ok ? 0 : failures + 1;
    if (failures === FOLLOW_FAILURES_TOLD) {
      const problem = answer ? await problemOf(answer) : "the gateway is unreachable";
      return tell(
        region,
        `Transaction ${hash} no longer followed: ${problem} (${failures} looks in a row failed). It may still be mined: reload the page later to see the balances.`,
        "failed",
      );
    }
    const state = answer?.ok ? ((await answer.json()) as TransactionState) : undefined;
    if (state?.state === "failed") {
      await abandon?.();
      await settled();
      return tell(region, `Failed: ${what} reverted (${state.reason}); nothing left the balance.`, "failed");
    }
    if (state?.state === "confirmed") {
      await settled();
      return tell(region, `Confirmed: ${what}, in block ${state.block_number}.`, "confirmed");
    }
    if (state?.state === "confirming") {
      const text = `Confirming ${state.confirmations}/${state.confirmations_required}: ${what}, transaction ${hash}.`;
      if (text !== last) {
        last = text;
        await progress?.();
        tell(region, text, "confirming");
      }
    }
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
  }
}
