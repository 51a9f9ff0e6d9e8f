/**
 * The dashboard's script, run in the merchant's browser (bundled with viem by web/browserBundle.ts). On the sign-in
 * page it has the browser wallet (an EIP-1193 provider at window.ethereum) sign a Sign-In with Ethereum (EIP-4361)
 * message for this gateway and sends it; on a signed-in page it shows the payments list or one payment's page (the
 * address says which: /dashboard?payment=<id>), and signs out. Every state-changing request carries the
 * session's CSRF token in a header, which another site can neither read nor send.
 */
import { BaseError, createClient, custom, UserRejectedRequestError, type EIP1193Provider } from "viem";
// The actions one by one rather than a wallet client: the bundle keeps only what it calls.
import { requestAddresses, signMessage } from "viem/actions";
import { signInMessageText } from "../../ledger/signInMessage";
import { sendChange } from "./changeRequest";
import { startApiKeys } from "./apiKeys";
import { problemOf } from "./elements";
import { startMoney } from "./money";
import { loadOverview } from "./overview";
import { startPaymentList } from "./paymentList";
import { showPaymentPage } from "./paymentPage";
import { startWebhooks } from "./webhooks";

const signInPage = document.getElementById("sign-in-page");
if (signInPage) startSignIn(signInPage);
const signOut = document.getElementById("sign-out") as HTMLButtonElement | null;
if (signOut) signOut.addEventListener("click", () => void leave(signOut));

if (document.getElementById("overview")) void loadOverview();
if (document.getElementById("payments")) startPayments();
startMoney();
if (document.getElementById("webhooks")) startWebhooks();
if (document.getElementById("api-keys")) startApiKeys();

/** The list, and a payment's page in its place when the address names one; back and forward move between them. */
function startPayments(): void {
  const list = document.getElementById("payments")!;
  const section = document.getElementById("payment-page")!;
  const show = async (id: string | null) => {
    const shown = id !== null && (await showPaymentPage(section, id));
    list.hidden = shown;
    section.hidden = !shown;
    // Focus follows the page the merchant opened (a keyboard or screen reader lands on its heading).
    if (shown) document.getElementById("payment-heading")?.focus();
  };
  const open = (id: string) => {
    history.pushState({}, "", `/dashboard?payment=${id}`);
    void show(id);
  };
  const fromAddress = () => new URLSearchParams(location.search).get("payment");
  section.addEventListener("click", (event) => {
    if ((event.target as Element).closest("#back-to-payments")) {
      event.preventDefault();
      history.pushState({}, "", "/dashboard");
      void show(null);
      document.getElementById("payments-heading")?.focus();
    }
  });
  window.addEventListener("popstate", () => void show(fromAddress()));
  startPaymentList(open);
  const id = fromAddress();
  if (id) void show(id);
}

function startSignIn(main: HTMLElement): void {
  const button = document.getElementById("sign-in") as HTMLButtonElement | null;
  const demoButton = document.getElementById("demo-sign-in") as HTMLButtonElement | null;
  const status = document.getElementById("sign-in-status")!;
  const chainId = Number(main.dataset.chainId);
  const say = (text: string, error = false) => {
    status.textContent = text;
    if (error) status.dataset.state = "error";
    else delete status.dataset.state;
  };
  /** Posts a sign-in and opens the dashboard, or says why not; the buttons wait meanwhile. */
  const attempt = async (steps: () => Promise<Response>) => {
    for (const each of [button, demoButton]) if (each) each.disabled = true;
    try {
      const answer = await steps();
      if (!answer.ok) throw new Error(await problemOf(answer));
      say("Signed in. Opening your dashboard…");
      location.assign("/dashboard");
    } catch (error) {
      for (const each of [button, demoButton]) if (each) each.disabled = false;
      if (error instanceof BaseError && error.walk((cause) => cause instanceof UserRejectedRequestError)) {
        say("You declined in your wallet: nothing was signed.", true);
      } else {
        say(`Not signed in: ${error instanceof BaseError ? error.shortMessage : (error as Error).message}`, true);
      }
    }
  };
  button?.addEventListener("click", () => {
    const provider = (window as unknown as { ethereum?: EIP1193Provider }).ethereum;
    if (!provider) return say("No browser wallet found: install one (MetaMask, Rabby, Coinbase Wallet…) and reload this page.", true);
    void attempt(async () => {
      const wallet = createClient({ transport: custom(provider) });
      say("Asking your wallet for its address…");
      const [address] = await requestAddresses(wallet);
      say("Getting a sign-in code from the gateway…");
      const issued = await fetch("/dashboard/sign-in/nonce", { cache: "no-store" });
      if (!issued.ok) throw new Error(await problemOf(issued));
      const { nonce } = (await issued.json()) as { nonce: string };
      const message = signInMessageText({ domain: location.host, origin: location.origin, address, chainId, nonce, issuedAt: new Date() });
      say("Sign the message in your wallet to sign in…");
      const signature = await signMessage(wallet, { account: address, message });
      say("Checking the signature…");
      return fetch("/dashboard/sign-in", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message, signature }),
      });
    });
  });
  demoButton?.addEventListener("click", () => {
    say("The local chain's node signs in as the demo merchant…");
    void attempt(() => fetch("/dashboard/sign-in/demo", { method: "POST" }));
  });
}

async function leave(button: HTMLButtonElement): Promise<void> {
  const status = document.getElementById("dashboard-status");
  button.disabled = true;
  if (status) status.textContent = "Signing out…";
  const answer = await sendChange("POST", "/dashboard/sign-out");
  if (answer?.ok) return location.assign("/dashboard");
  button.disabled = false;
  if (status) status.textContent = `Not signed out: ${answer ? await problemOf(answer) : "the gateway did not answer"}`;
}
