import { setTimeout as sleep } from "node:timers/promises";
import { formatUnits, getAddress, zeroAddress, type Address, type Hex } from "viem";
import { RehearsalFinding } from "./finding";
import type { ScanAndSendCustomer } from "./scanAndSend";

/** The BNB Smart Chain name the hosted checkout must show customers on chain 56 (checkout/checkoutPage.ts). */
export const CHECKOUT_NETWORK_NAME = "BNB Smart Chain";

interface PaymentOption {
  token: string;
  address: string;
  decimals: number;
  amount: string;
  uri: string;
}

interface Payment {
  id: string;
  livemode: boolean;
  chain_id: number;
  status: string;
  amount_usd: string;
  received_usd: string;
  paid_amount: string | null;
  token: { symbol: string } | null;
  checkout_url: string;
  deposit_address: string;
  payment_options: PaymentOption[];
  transactions: string[];
  history?: Array<{ from: string; to: string; reason: string }>;
}

export interface PaidPayment {
  symbol: string;
  payment: Payment;
  uri: string;
  transfer: Hex;
  sentAmount: string;
  seconds: number;
}

async function api<T>(apiUrl: string, apiKey: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${apiUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/**
 * One payment as a merchant and a customer make it on mainnet: created through the merchant API with the live key
 * (offering every token, as by default), its checkout page opened, the `symbol` option's EIP-681 URI scanned, the
 * tokens got from their issuer and sent by a plain transfer to the deposit address; then followed through the API
 * until `paid`. Checks on the way that the payment is live and on chain 56, that every option's URI names chain 56
 * (`@56`) and the mainnet token, and that the checkout page says BNB Smart Chain; a failure is a RehearsalFinding.
 */
export async function rehearsePayment({
  apiUrl,
  apiKey,
  symbol,
  amountUsd,
  tokens,
  customer,
  issuer,
  timeoutMs,
  progress,
}: {
  apiUrl: string;
  apiKey: string;
  symbol: string;
  amountUsd: string;
  /** The mainnet address of each token (BNB: the zero address). */
  tokens: Record<string, Address>;
  customer: ScanAndSendCustomer;
  issuer: Address;
  timeoutMs: number;
  progress: (line: string) => void;
}): Promise<PaidPayment> {
  const started = Date.now();
  const created = await api<Payment & { error?: { message: string } }>(apiUrl, apiKey, "POST", "/v1/payments", {
    amount_usd: amountUsd,
    order_id: `rehearsal-${symbol.toLowerCase()}-${Date.now()}`,
    description: `npm run rehearse: $${amountUsd} paid in ${symbol} by scan-and-send`,
  });
  if (created.status !== 201)
    throw new RehearsalFinding(`POST /v1/payments answered ${created.status}: ${created.body.error?.message ?? JSON.stringify(created.body)}`);
  const payment = created.body;
  if (!payment.livemode || payment.chain_id !== 56)
    throw new RehearsalFinding(`payment ${payment.id} is livemode ${payment.livemode} on chain ${payment.chain_id}, not live on 56`);

  for (const option of payment.payment_options) {
    if (!/^ethereum:(pay-)?0x[0-9a-fA-F]{40}@56(\/|\?)/.test(option.uri))
      throw new RehearsalFinding(`the ${option.token} option's EIP-681 URI does not name chain 56 (@56): ${option.uri}`);
    const mainnet = tokens[option.token];
    if (!mainnet || getAddress(option.address) !== mainnet)
      throw new RehearsalFinding(`the ${option.token} option is token ${option.address}, not the mainnet ${mainnet ?? "(unknown)"}`);
  }
  const page = await fetch(payment.checkout_url, { headers: { accept: "text/html" }, signal: AbortSignal.timeout(15_000) });
  const html = await page.text();
  if (page.status !== 200) throw new RehearsalFinding(`the checkout page ${payment.checkout_url} answered ${page.status}`);
  if (!html.includes(CHECKOUT_NETWORK_NAME)) throw new RehearsalFinding(`the checkout page ${payment.checkout_url} does not say "${CHECKOUT_NETWORK_NAME}"`);

  const option = payment.payment_options.find((candidate) => candidate.token === symbol);
  if (!option) throw new RehearsalFinding(`payment ${payment.id} offers ${payment.payment_options.map((o) => o.token).join(", ")}, not ${symbol}`);
  const request = customer.scan(option.uri);
  if (request.to !== getAddress(payment.deposit_address))
    throw new RehearsalFinding(`the ${symbol} URI pays ${request.to}, not the deposit address ${payment.deposit_address}`);
  if ((request.kind === "token" ? request.token : zeroAddress) !== tokens[symbol])
    throw new RehearsalFinding(`the ${symbol} URI is for another token: ${option.uri}`);
  await customer.getTokensFor(request, issuer);
  const sent = await customer.send(request);
  const sentAmount = `${formatUnits(request.amount, option.decimals)} ${symbol}`;
  progress(`${symbol}: payment ${payment.id.slice(0, 10)}… $${amountUsd}; scanned ${option.uri}; sent ${sentAmount} in block ${sent.blockNumber}`);

  const deadline = Date.now() + timeoutMs;
  let current = payment;
  let shown = current.status;
  for (;;) {
    const read = await api<Payment>(apiUrl, apiKey, "GET", `/v1/payments/${payment.id}`);
    if (read.status !== 200) throw new RehearsalFinding(`GET /v1/payments/${payment.id} answered ${read.status}`);
    current = read.body;
    if (current.status !== shown) {
      progress(`${symbol}: ${shown} → ${current.status}`);
      shown = current.status;
    }
    if (current.status === "paid") break;
    if (["failed", "expired"].includes(current.status) || Date.now() > deadline) {
      const history = (current.history ?? []).map((entry) => `${entry.to} (${entry.reason})`).join(" → ");
      throw new RehearsalFinding(
        `the ${symbol} payment ${payment.id} is ${current.status}, not paid, ${Math.round((Date.now() - started) / 1000)} s after it was created ` +
          `(received $${current.received_usd} of $${current.amount_usd}; history: ${history || "none"})`,
      );
    }
    await sleep(100);
  }
  return { symbol, payment: current, uri: option.uri, transfer: sent.hash, sentAmount, seconds: (Date.now() - started) / 1000 };
}
