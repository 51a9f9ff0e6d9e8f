/**
 * The hosted checkout's script, run in the shopper's browser (bundled with viem by checkoutScript.ts). It switches
 * the token shown, copies values, counts down to the expiry, follows the payment through `/checkout/<id>/status`,
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

/** What `/checkout/<id>/status` answers. */
interface CheckoutState {
  status: string;
  text: string;
  remaining_usd: string;
  success_url: string | null;
  failure: { transaction_hash: string; reason: string } | null;
  /** The amount to send now in each token. */
  amounts: Record<string, string>;
}

const FINAL = ["paid", "refunding", "partially_refunded", "refunded", "expired", "failed"];
const POLL_MS = 2000;

const main = document.getElementById("checkout");
if (main) start(main);

function start(main: HTMLElement): void {
  const id = main.dataset.payment!;
  const expires = Date.parse(main.dataset.expires!);
  const statusEl = document.getElementById("status")!;
  const countdown = document.getElementById("countdown")!;
  const options = document.getElementById("options")!;
  const walletSection = document.getElementById("wallet")!;
  const walletButton = document.getElementById("pay-wallet") as HTMLButtonElement;
  const walletStatus = document.getElementById("wallet-status")!;
  let finished = false;
  let shownFailure = "";

  const selectedToken = () => (document.querySelector<HTMLInputElement>("input[name=token]:checked")?.value ?? "");
  const showOption = (token: string) =>
    options.querySelectorAll<HTMLElement>(".option").forEach((section) => (section.hidden = section.dataset.token !== token));

  document.querySelectorAll<HTMLInputElement>("input[name=token]").forEach((input) =>
    input.addEventListener("change", () => showOption(input.value)),
  );
  // Delegated: the options are replaced when an underpaid payment's remaining amount changes.
  options.addEventListener("click", (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>("button.copy");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.dataset.copy!).then(() => {
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 1500);
    }, () => undefined);
  });

  function tick(): void {
    if (finished) return;
    const left = Math.max(0, Math.floor((expires - Date.now()) / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = left % 60;
    countdown.textContent = left > 0 ? `Expires in ${minutes}:${seconds < 10 ? "0" : ""}${seconds}` : "Time is up";
  }

  function walletMessage(text: string, state: "working" | "sent" | "failed" | "cancelled"): void {
    walletStatus.textContent = text;
    walletStatus.dataset.state = state;
  }

  function show(state: CheckoutState): void {
    statusEl.textContent = state.text;
    main.dataset.status = state.status;
    if (state.failure && state.failure.transaction_hash !== shownFailure) {
      shownFailure = state.failure.transaction_hash;
      walletMessage(`Failed: ${state.failure.reason}. Nothing was taken; you can try again.`, "failed");
    }
    // A deposit or a price move changes an amount; a first deposit also narrows the tokens offered to its own.
    const shown = Array.from(options.querySelectorAll<HTMLElement>(".option"));
    const changed =
      shown.length !== Object.keys(state.amounts).length ||
      shown.some((section) => state.amounts[section.dataset.token!] !== section.querySelector(".amount-value")?.textContent);
    if (changed && FINAL.indexOf(state.status) < 0) void refreshOptions();
    if (FINAL.indexOf(state.status) < 0) return;
    finished = true;
    statusEl.dataset.final = state.status === "expired" || state.status === "failed" ? state.status : "paid";
    countdown.textContent = "";
    walletSection.hidden = true;
    if (statusEl.dataset.final === "paid" && state.success_url) {
      const target = state.success_url;
      setTimeout(() => location.assign(target), 3000);
    }
  }

  /** The amounts to send changed: a deposit arrived (they are now what remains), or the price moved. */
  async function refreshOptions(): Promise<void> {
    const response = await fetch(`/checkout/${id}/options`, { headers: { accept: "text/html" } });
    if (!response.ok) return;
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

  function poll(): void {
    if (finished) return;
    fetch(`/checkout/${id}/status`, { headers: { accept: "application/json" } })
      .then((response) => (response.ok ? (response.json() as Promise<CheckoutState>) : null))
      .then((state) => state && show(state), () => undefined)
      .finally(() => setTimeout(poll, POLL_MS));
  }

  const provider = (window as unknown as { ethereum?: EIP1193Provider }).ethereum;
  if (provider) {
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

  tick();
  setInterval(tick, 1000);
  poll();
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
      const allowance = await readContract(client, { address: plan.token.address, abi: erc20Abi, functionName: "allowance", args: [account, plan.approve.spender] });
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
