/**
 * The hosted checkout's script, run in the shopper's browser (bundled with viem by web/browserBundle.ts). It switches
 * the token shown, copies values, counts down to the expiry, reports that a person opened the page, follows the
 * payment through its server-sent events (`/checkout/<id>/events`, else by polling `/checkout/<id>/status`),
 * and pays from a browser wallet (an EIP-1193 provider) when the shopper has one. The page works without it.
 */
import { BaseError, createClient, custom, erc20Abi, UserRejectedRequestError, type EIP1193Provider, type Hex } from "viem";
// The actions one by one rather than a wallet and a public client: the bundle keeps only what it calls.
import { getChainId, readContract, requestAddresses, sendTransaction, switchChain, waitForTransactionReceipt } from "viem/actions";

interface WalletCall {
  to: Hex;
  data: Hex;
  value: string;
}

/** What `/checkout/<id>/wallet` answers: see walletPayment.ts. */
interface WalletPlan {
  chain_id: number;
  token: { symbol: string; address: Hex; decimals: number };
  amount: string;
  amount_units: string;
  approve: (WalletCall & { spender: Hex }) | null;
  pay: WalletCall;
}

/** What `/checkout/<id>/status` answers and each event of `/checkout/<id>/events` carries (api/checkoutReader.ts). */
interface CheckoutState {
  status: string;
  text: string;
  success_url: string | null;
  return_url: string | null;
  failure: { transaction_hash: string; reason: string } | null;
  /** The amount to send now in each token (empty once nothing is asked). */
  amounts: Record<string, string>;
  payable: boolean;
  timer_paused: boolean;
  progress_html: string;
}

const FINAL = ["paid", "refunding", "partially_refunded", "refunded", "expired", "failed"];
const POLL_MS = 2000;
/** How long a finished page shows its outcome before it returns the shopper to the shop. */
const RETURN_MS = { paid: 3000, other: 5000 };

const main = document.getElementById("checkout");
if (main) start(main);

function start(main: HTMLElement): void {
  const id = main.dataset.payment!;
  const expires = Date.parse(main.dataset.expires!);
  const statusEl = document.getElementById("status")!;
  const countdown = document.getElementById("countdown")!;
  const progress = document.getElementById("progress")!;
  const options = document.getElementById("options");
  const walletSection = document.getElementById("wallet");
  const walletButton = document.getElementById("pay-wallet") as HTMLButtonElement | null;
  const walletStatus = document.getElementById("wallet-status");
  let finished = FINAL.indexOf(main.dataset.status!) >= 0;
  let paused = main.dataset.paused === "true";
  let shownFailure = "";
  let shownProgress = progress.innerHTML;

  const selectedToken = () => document.querySelector<HTMLInputElement>("input[name=token]:checked")?.value ?? "";
  const showOption = (token: string) =>
    options?.querySelectorAll<HTMLElement>(".option").forEach((section) => {
      section.hidden = section.dataset.token !== token;
    });

  document.querySelectorAll<HTMLInputElement>("input[name=token]").forEach((input) => void input.addEventListener("change", () => showOption(input.value)));
  // Delegated: the options are replaced when an underpaid payment's remaining amount changes.
  options?.addEventListener("click", (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>("button.copy");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.dataset.copy!).then(
      () => {
        button.textContent = "Copied";
        setTimeout(() => (button.textContent = "Copy"), 1500);
      },
      () => undefined,
    );
  });

  function tick(): void {
    // Once the page stops asking for money its options are gone, and so is the countdown.
    if (finished || paused || !options?.isConnected) return;
    const left = Math.max(0, Math.floor((expires - Date.now()) / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = left % 60;
    countdown.textContent = left > 0 ? `Expires in ${minutes}:${seconds < 10 ? "0" : ""}${seconds}` : "Time is up";
  }

  function walletMessage(text: string, state: "working" | "sent" | "failed" | "cancelled"): void {
    if (!walletStatus) return;
    walletStatus.textContent = text;
    walletStatus.dataset.state = state;
  }

  /** Once the full amount is on chain (or the payment ended), nothing on the page asks for money any more. */
  function stopAsking(): void {
    for (const selector of ["fieldset.tokens", "#options", "#wallet", "#timer-note", "a.cancel"]) document.querySelector(selector)?.remove();
    countdown.textContent = "";
  }

  function show(state: CheckoutState): void {
    statusEl.textContent = state.text;
    main.dataset.status = state.status;
    if (state.progress_html !== shownProgress) progress.innerHTML = shownProgress = state.progress_html;
    if (state.failure && state.failure.transaction_hash !== shownFailure) {
      shownFailure = state.failure.transaction_hash;
      walletMessage(`Failed: ${state.failure.reason}. Nothing was taken; you can try again.`, "failed");
    }
    if (!state.payable) stopAsking();
    else {
      if (state.timer_paused && !paused) countdown.textContent = countdown.dataset.pausedText ?? "";
      paused = state.timer_paused;
      // A deposit or a price move changes an amount; a first deposit also narrows the tokens offered to its own.
      const shown = Array.from(options?.querySelectorAll<HTMLElement>(".option") ?? []);
      const changed =
        shown.length !== Object.keys(state.amounts).length ||
        shown.some((section) => state.amounts[section.dataset.token!] !== section.querySelector(".amount-value")?.textContent);
      if (changed) void refreshOptions();
    }
    if (FINAL.indexOf(state.status) < 0 || finished) return;
    finished = true;
    statusEl.dataset.final = state.status === "expired" || state.status === "failed" ? state.status : "paid";
    const target = statusEl.dataset.final === "paid" ? state.success_url : state.return_url;
    if (target) setTimeout(() => location.assign(target), statusEl.dataset.final === "paid" ? RETURN_MS.paid : RETURN_MS.other);
  }

  /** The amounts to send changed: a deposit arrived (they are now what remains), or the price moved. */
  async function refreshOptions(): Promise<void> {
    const response = await fetch(`/checkout/${id}/options`, { headers: { accept: "text/html" } });
    if (!response.ok || !options?.isConnected) return;
    options.innerHTML = await response.text();
    // A token no longer offered loses its choice; if it was the one chosen, the first offered takes its place.
    const inputs = Array.from(document.querySelectorAll<HTMLInputElement>("input[name=token]"));
    for (const input of inputs) {
      const amount = options.querySelector<HTMLElement>(`.option[data-token="${input.value}"] .amount-value`);
      const label = input.parentElement!;
      label.hidden = !amount;
      input.disabled = !amount;
      if (!amount) input.checked = false;
      const shownAmount = label.querySelector(".amount");
      if (amount && shownAmount) shownAmount.textContent = amount.textContent;
    }
    const chosen = inputs.find((input) => input.checked) ?? inputs.find((input) => !input.disabled);
    if (chosen) chosen.checked = true;
    showOption(selectedToken());
  }

  /** Without server-sent events (or when their stream fails): the status every POLL_MS. */
  function poll(): void {
    if (finished) return;
    fetch(`/checkout/${id}/status`, { headers: { accept: "application/json" } })
      .then((response) => (response.ok ? (response.json() as Promise<CheckoutState>) : null))
      .then(
        (state) => state && show(state),
        () => undefined,
      )
      .finally(() => setTimeout(poll, POLL_MS));
  }

  /** The status pushed by the server as it changes: one stream per open page. */
  function follow(): void {
    if (typeof EventSource !== "function") {
      poll();
      return;
    }
    const events = new EventSource(`/checkout/${id}/events`);
    events.onmessage = (message) => {
      show(JSON.parse(message.data) as CheckoutState);
      if (finished) events.close();
    };
    events.onerror = () => {
      events.close();
      if (!finished) poll();
    };
  }

  /** The page was shown to a person (not fetched by a link preview or a crawler): the payment moves to pending. */
  function reportOpened(): void {
    const send = () => void fetch(`/checkout/${id}/opened`, { method: "POST", keepalive: true }).catch(() => undefined);
    if (document.visibilityState === "visible") {
      send();
      return;
    }
    const onVisible = () => {
      if (document.visibilityState !== "visible") return;
      document.removeEventListener("visibilitychange", onVisible);
      send();
    };
    document.addEventListener("visibilitychange", onVisible);
  }

  const provider = (window as unknown as { ethereum?: EIP1193Provider }).ethereum;
  if (provider && walletSection && walletButton) {
    walletSection.hidden = false;
    walletButton.addEventListener("click", () => {
      walletButton.disabled = true;
      payWithWallet(provider, id, selectedToken(), walletMessage, async (hash) => {
        const response = await fetch(`/checkout/${id}/failed-transactions`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ transaction_hash: hash }),
        });
        const body = (await response.json()) as { reason?: string; error?: { message: string } };
        return body.reason ?? body.error?.message ?? "the transaction reverted";
      }).finally(() => (walletButton.disabled = false));
    });
  }

  if (main.dataset.status === "initiated") reportOpened();
  if (!paused) tick();
  setInterval(tick, 1000);
  // A finished page still returns the shopper to the shop.
  if (finished) {
    const link = document.getElementById("return") as HTMLAnchorElement | null;
    if (link) setTimeout(() => location.assign(link.href), RETURN_MS.other);
    return;
  }
  follow();
}

/**
 * Pays `token` from the shopper's wallet: switch to the payment's chain, approve the escrow when the allowance is
 * short (tokens only), send the escrow's pay call, and wait for its receipt. A pay call that reverts on chain is
 * reported to the server, which checks it and answers with the reason.
 */
async function payWithWallet(
  provider: EIP1193Provider,
  id: string,
  token: string,
  say: (text: string, state: "working" | "sent" | "failed" | "cancelled") => void,
  reportFailure: (hash: Hex) => Promise<string>,
): Promise<void> {
  try {
    say("Preparing the payment…", "working");
    const response = await fetch(`/checkout/${id}/wallet?token=${encodeURIComponent(token)}`, { headers: { accept: "application/json" } });
    const plan = (await response.json()) as WalletPlan & { error?: { message: string } };
    if (!response.ok) return say(plan.error?.message ?? "This payment cannot be paid from a wallet now.", "failed");
    const client = createClient({ transport: custom(provider), pollingInterval: 1000 });
    const [account] = await requestAddresses(client);
    if ((await getChainId(client)) !== plan.chain_id) await switchChain(client, { id: plan.chain_id });
    if (plan.approve) {
      const allowance = await readContract(client, {
        address: plan.token.address,
        abi: erc20Abi,
        functionName: "allowance",
        args: [account, plan.approve.spender],
      });
      if (allowance < BigInt(plan.amount_units)) {
        say(`Approve ${plan.amount} ${plan.token.symbol} in your wallet (step 1 of 2)…`, "working");
        const hash = await sendTransaction(client, { account, chain: null, to: plan.approve.to, data: plan.approve.data });
        const receipt = await waitForTransactionReceipt(client, { hash });
        if (receipt.status !== "success") return say(`Failed: the approval ${hash} reverted. Nothing was taken; you can try again.`, "failed");
      }
      say(`Confirm the payment of ${plan.amount} ${plan.token.symbol} in your wallet (step 2 of 2)…`, "working");
    } else {
      say(`Confirm the payment of ${plan.amount} ${plan.token.symbol} in your wallet…`, "working");
    }
    const hash = await sendTransaction(client, { account, chain: null, to: plan.pay.to, data: plan.pay.data, value: BigInt(plan.pay.value) });
    say(`Transaction ${hash} sent, waiting for it to be mined…`, "sent");
    const receipt = await waitForTransactionReceipt(client, { hash });
    if (receipt.status === "success") return say(`Transaction ${hash} is mined; the status above follows its confirmations.`, "sent");
    say(`Failed: ${await reportFailure(hash)}. Nothing was taken; you can try again.`, "failed");
  } catch (error) {
    if (error instanceof BaseError && error.walk((cause) => cause instanceof UserRejectedRequestError)) {
      return say("You declined in your wallet. Nothing was sent.", "cancelled");
    }
    say(`Failed: ${error instanceof BaseError ? error.shortMessage : String(error)}`, "failed");
  }
}
