/**
 * `npm run demo`: against the stack `npm start` runs (another terminal), a merchant and a customer do what they
 * would do for real. The merchant's webhook receiver starts on 127.0.0.1 and is registered through the API; a
 * payment is created with the SDK (@openpay/sdk); the customer opens its checkout, scans the USDT QR code (an
 * EIP-681 URI) and sends a plain ERC-20 transfer to the deposit address from a Hardhat account; each signed webhook
 * is verified with the SDK's verifyWebhook and shown as it arrives, until payment.completed. `--help` for options.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { createPublicClient, formatUnits, http } from "viem";
import { OpenPay, OpenPayError, type Payment, type WebhookEvent } from "../sdk/src";
import { CustomerWallet } from "./stack/customerWallet";
import { demoConnection, type DemoConnection } from "./stack/demoConnection";
import { DemoWebhookReceiver, type Delivery } from "./stack/demoWebhookReceiver";
import { LOCAL_ACCOUNTS } from "./stack/hardhatAccounts";
import { Progress } from "./stack/progress";
import { REPOSITORY, shownPath, userPath } from "./stack/repository";
import { readPaymentRequestUri } from "./stack/scannedPaymentRequest";
import { DEFAULT_LOCAL_DIR, stackFolder } from "./stack/stackFolder";
import { runCommand, StartError } from "./stack/startError";
import { variableNotes, wrapped } from "./stack/variableNotes";

const LOCAL_CHAIN_ID = 31337;

function help(): string {
  const notes = variableNotes();
  const entry = (name: string, note: string) => `  ${name.padEnd(28)}${wrapped(note, " ".repeat(30)).trimStart()}`;
  return [
    "usage: npm run demo [-- options]",
    "",
    wrapped(
      "Against the local stack `npm start` runs in another terminal: registers a webhook receiver on 127.0.0.1, creates " +
        "a payment with the SDK, opens its checkout, pays it from a Hardhat account by a plain transfer to its deposit " +
        "address (what its EIP-681 QR code says), and shows each signed webhook, verified, until payment.completed.",
      "",
    ),
    "",
    "Options:",
    entry("--data-dir <dir>", `STACK_DATA_DIR. ${notes.get("STACK_DATA_DIR") ?? ""}`),
    entry("--token <symbol>", "USDT (default), USDC or BNB: the payment option the customer scans"),
    entry("--amount <usd>", "the payment's price in USD, a decimal string (default 25.00)"),
    entry("--timeout <seconds>", "how long to wait for payment.completed (default 120)"),
    entry("-h, --help", "this text"),
    "",
    "Variables:",
    entry("OPENPAY_URL, OPENPAY_KEY", notes.get("OPENPAY_URL") ?? ""),
    entry("LOCAL_RPC_URL", notes.get("LOCAL_RPC_URL") ?? ""),
  ].join("\n");
}

function options(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "data-dir": { type: "string" },
        token: { type: "string" },
        amount: { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    throw new StartError(`${(error as Error).message.split("\n")[0]} (npm run demo -- --help lists the options)`);
  }
  const token = (values.token ?? "USDT").toUpperCase();
  const amount = values.amount ?? "25.00";
  if (!/^\d+(\.\d+)?$/.test(amount)) throw new StartError(`--amount must be a USD amount such as 25.00, got "${amount}"`);
  const timeout = values.timeout ?? "120";
  if (!/^\d+$/.test(timeout) || Number(timeout) < 1) throw new StartError(`--timeout must be a whole number of seconds, got "${timeout}"`);
  const dataDir = values["data-dir"] ?? process.env.STACK_DATA_DIR?.trim();
  return { help: values.help === true, token, amount, timeoutMs: Number(timeout) * 1000, dataDir: dataDir ? userPath(dataDir) : DEFAULT_LOCAL_DIR };
}

/** A request to the API the SDK does not cover (webhook endpoints), with the same clear errors. */
/** The fields of the API's answers the demo reads: a created webhook endpoint's, or an error's. */
interface ApiAnswer {
  id?: string;
  secret?: string;
  error?: { message?: string; field?: string };
}

async function apiRequest(connection: DemoConnection, method: string, route: string, body?: unknown): Promise<{ status: number; body: ApiAnswer }> {
  let response: Response;
  try {
    response = await fetch(`${connection.apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${connection.apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new StartError(`cannot reach the Open Pay API at ${connection.apiUrl} (${cause}): is \`npm start\` running? (details from ${connection.from})`, 1);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  // An answer that is not JSON (its text) has none of the fields, and is shown whole.
  return { status: response.status, body: parsed as ApiAnswer };
}

const confirmationsOf = (payment: Payment) => `${payment.confirmations.seen}/${payment.confirmations.required}`;

function eventLine(event: WebhookEvent): string {
  if (event.type === "balance.withdrawn")
    return `webhook ${event.type.padEnd(20)} ${event.data.amount} ${event.data.token.symbol} to ${event.data.payout}   verified`;
  const payment = event.data;
  const received = payment.received_usd !== "0.00" ? `   received $${payment.received_usd} of $${payment.amount_usd}` : "";
  return `webhook ${event.type.padEnd(20)} status ${payment.status.padEnd(11)} confirmations ${confirmationsOf(payment).padEnd(6)}${received}   verified`;
}

async function main(): Promise<number> {
  const envFile = path.join(REPOSITORY, ".env");
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  const settings = options(process.argv.slice(2));
  if (settings.help) {
    console.log(help());
    return 0;
  }
  const connection = demoConnection(settings.dataDir, process.env);
  if (!connection.apiKey.startsWith("op_test_")) {
    throw new StartError(`the demo pays from Hardhat's accounts on a local chain: it needs a test-mode key (op_test_…), not ${connection.apiKey.slice(0, 8)}…`);
  }
  const health = await apiRequest(connection, "GET", "/health");
  if (health.status !== 200) throw new StartError(`${connection.apiUrl}/health answered ${health.status}: is it an Open Pay gateway?`, 1);
  let chainId: number;
  try {
    chainId = await createPublicClient({ transport: http(connection.rpcUrl, { retryCount: 0, timeout: 10_000 }) }).getChainId();
  } catch (error) {
    throw new StartError(
      `cannot reach the local chain at ${connection.rpcUrl} (${(error as { shortMessage?: string }).shortMessage ?? (error as Error).message}): is \`npm start\` running? (or set LOCAL_RPC_URL)`,
      1,
    );
  }
  if (chainId !== LOCAL_CHAIN_ID) {
    throw new StartError(
      `the demo mints test tokens and pays from Hardhat's accounts: it runs on a local chain (${LOCAL_CHAIN_ID}), and ${connection.rpcUrl} is chain ${chainId}`,
    );
  }

  console.log(`Open Pay demo: a customer pays the demo merchant (gateway ${connection.apiUrl} from ${connection.from}; chain ${connection.rpcUrl})`);
  const progress = new Progress(5);
  const openPay = new OpenPay({ apiKey: connection.apiKey, baseUrl: connection.apiUrl });

  // Webhooks are kept as they come, and shown once they are known to be the demo payment's.
  const deliveries: Delivery[] = [];
  let paymentId: string | undefined;
  let shown = 0;
  let completed: (() => void) | undefined;
  const completion = new Promise<void>((resolve) => (completed = resolve));
  const ours = (delivery: Delivery) => !delivery.verified || delivery.event.data.id === paymentId;
  const showDeliveries = () => {
    if (!paymentId || shown < 0) return;
    for (; shown < deliveries.length; shown++) {
      const delivery = deliveries[shown];
      if (!ours(delivery)) continue;
      if (delivery.verified) {
        progress.detail(eventLine(delivery.event));
        if (delivery.event.type === "payment.completed") completed?.();
      } else progress.detail(`webhook REFUSED (${delivery.id}): ${delivery.reason}`);
    }
  };
  const receiver = new DemoWebhookReceiver((delivery) => {
    deliveries.push(delivery);
    showDeliveries();
  });
  let endpointId: string | undefined;
  const cleanup = async () => {
    if (endpointId) await apiRequest(connection, "DELETE", `/v1/webhook_endpoints/${endpointId}`).catch(() => undefined);
    endpointId = undefined;
    await receiver.close();
  };
  const interrupt = () => {
    console.log("\nstopping: removing the demo's webhook endpoint");
    void cleanup().then(() => process.exit(130));
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);

  try {
    // 1. The merchant's webhook receiver, registered through the API.
    const url = await receiver.listen();
    const endpoint = await apiRequest(connection, "POST", "/v1/webhook_endpoints", { url, description: "npm run demo" });
    if (endpoint.status !== 201) {
      const message = endpoint.body?.error?.message ?? JSON.stringify(endpoint.body);
      const hint =
        endpoint.body?.error?.field === "url"
          ? " — the gateway must let webhooks reach 127.0.0.1: start it with WEBHOOK_ALLOWED_CIDRS=127.0.0.1/32 (npm start does so by default)"
          : "";
      throw new StartError(`the API refused the demo's webhook endpoint (${endpoint.status}): ${message}${hint}`, 1);
    }
    endpointId = endpoint.body.id as string;
    receiver.secret = endpoint.body.secret as string;
    progress.step(`the merchant's webhook receiver listens on ${url}; registered through the API as ${endpointId}`);

    // 2. The merchant's checkout creates the payment with the SDK.
    const started = Date.now();
    const orderId = `demo-${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}`;
    const payment = await openPay.createPayment({ amount_usd: settings.amount, order_id: orderId, description: "Open Pay demo: 1 × T-shirt" });
    paymentId = payment.id;
    progress.step(`payment ${payment.id} created with the SDK: $${payment.amount_usd}, order ${orderId}, status ${payment.status}`);
    progress.detail(`checkout_url ${payment.checkout_url}`);
    if (payment.chain_id !== chainId)
      throw new StartError(`the gateway's payments are on chain ${payment.chain_id}, and ${connection.rpcUrl} is chain ${chainId}`, 1);
    showDeliveries();

    // 3. The customer opens the checkout page; once it is shown, its script reports the opening (a GET alone does not).
    const page = await fetch(payment.checkout_url, { headers: { accept: "text/html" } });
    await page.text();
    if (page.status !== 200) throw new StartError(`the checkout page ${payment.checkout_url} answered ${page.status}`, 1);
    const beacon = await fetch(`${payment.checkout_url}/opened`, { method: "POST" });
    if (beacon.status !== 204) throw new StartError(`the checkout page's beacon ${payment.checkout_url}/opened answered ${beacon.status}`, 1);
    const opened = await openPay.getPayment(payment.id);
    progress.step(`the customer opens the checkout page: ${payment.status} → ${opened.status}`);

    // 4. … scans the QR code of the token they pay in and sends a plain transfer.
    const option = payment.payment_options.find((candidate) => candidate.token === settings.token);
    if (!option) {
      throw new StartError(`--token: the payment offers ${payment.payment_options.map((candidate) => candidate.token).join(", ")}, not ${settings.token}`);
    }
    progress.step(`the customer scans the ${option.token} QR code: ${option.uri}`);
    const request = readPaymentRequestUri(option.uri);
    if (request.chainId !== chainId) throw new StartError(`the QR code asks for chain ${request.chainId}; the local chain is ${chainId}`, 1);
    const wallet = new CustomerWallet(connection.rpcUrl, chainId);
    const funded = await wallet.fund(request, option.token, option.decimals);
    if (funded) progress.detail(funded);
    const sent = await wallet.pay(request);
    progress.detail(
      `sends ${formatUnits(request.amount, option.decimals)} ${option.token} from ${wallet.account.address} (Hardhat account ${LOCAL_ACCOUNTS.customer}) ` +
        `to the deposit address ${request.to}: transaction ${sent.hash} in block ${sent.blockNumber}`,
    );

    // 5. The webhooks, until payment.completed.
    progress.step(`waiting for ${payment.confirmations.required} confirmations and payment.completed (each webhook is verified with the SDK's verifyWebhook)`);
    showDeliveries();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), settings.timeoutMs)));
    const outcome = await Promise.race([completion.then(() => "completed" as const), timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      const now = await openPay.getPayment(payment.id);
      throw new StartError(
        `no payment.completed within ${settings.timeoutMs / 1000} s; the payment is ${now.status} with ${confirmationsOf(now)} confirmations. ` +
          `Is the stack's chain making blocks, and its keeper running? (its log: ${shownPath(stackFolder(settings.dataDir).log)})`,
        1,
      );
    }
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    const refused = deliveries.filter((delivery) => ours(delivery) && !delivery.verified).length;
    const verified = deliveries.filter((delivery) => ours(delivery) && delivery.verified) as Array<Extract<Delivery, { verified: true }>>;

    const paid = await openPay.getPayment(payment.id);
    const history = (paid.history ?? []).map((entry) => `${entry.to} (${entry.reason})`).join(" → ");
    console.log("");
    console.log(`Summary: payment ${paid.id} is ${paid.status} per the API.`);
    console.log(
      `  received       $${paid.received_usd} of $${paid.amount_usd} as ${paid.paid_amount ?? "?"} ${paid.token?.symbol ?? ""}, ${confirmationsOf(paid)} confirmations`,
    );
    console.log(`  history        initiated → ${history}`);
    console.log(`  on chain       the customer's transfer ${sent.hash}; the escrow recorded the payment in ${paid.transactions.join(", ") || "?"}`);
    console.log(
      `  webhooks       ${verified.length} verified (${verified.map((delivery) => delivery.event.type).join(", ")})${refused ? `, ${refused} REFUSED` : ""}`,
    );
    console.log(`  time           ${elapsed} s from creating the payment to payment.completed`);
    if (refused > 0) throw new StartError(`${refused} webhook deliveries did not verify`, 1);
    if (paid.status !== "paid") throw new StartError(`payment.completed arrived but the API says the payment is ${paid.status}`, 1);
    console.log("payment.completed received and verified: the demo payment is paid.");
    return 0;
  } catch (error) {
    if (error instanceof OpenPayError) throw new StartError(`the API refused a request (${error.status} ${error.type}): ${error.message}`, 1);
    throw error;
  } finally {
    shown = -1;
    await cleanup();
  }
}

runCommand(main);
