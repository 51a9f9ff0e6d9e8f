import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { formatUnits, zeroAddress, type Address, type Hex } from "viem";
import { acceptedTokenMask, newPaymentId, PAYMENT_INTENT_TYPES, paymentIntentDomain, type PaymentIntent } from "../../indexer/src/payments/paymentIntent";
import { tokensForUsd } from "../../indexer/src/prices/tokenAmount";
import { parseChoice, parseUsd } from "./arguments";
import { operatorCommand } from "./commandLine";
import { describeRevert, escrowContext, type EscrowContext } from "./escrowContext";
import { readIntentFile, writeIntentFile } from "./intentFile";
import { OperatorError } from "./operatorError";
import { escrowPaymentStatus } from "./paymentStatus";
import { knownToken, type KnownToken } from "./tokens";

export const SCENARIOS = ["full", "partial", "over", "late"] as const;
export const ROUTES = ["direct", "deposit-address"] as const;
const LOCAL_CHAIN_ID = 31337;
/** Hardhat's account 6 pays; accounts 0-5 are the local deployment's roles and demo merchant (local.json5). */
const CUSTOMER_ACCOUNT = 6;
const DEFAULT_TTL_SECONDS = 30n * 60n;
/** Share of what is still due that each scenario pays, in percent. */
const SHARE: Record<(typeof SCENARIOS)[number], bigint> = { full: 100n, partial: 40n, over: 150n, late: 100n };

export interface SimulationResult {
  paymentId: Hex;
  scenario: (typeof SCENARIOS)[number];
  via: (typeof ROUTES)[number];
  token: string;
  amount: string;
  depositAddress: Address;
  transaction?: Hex;
  refused?: string;
  status: string;
  receivedUsd: string;
  remainingUsd: string;
}

/** The intent's `acceptedTokens` for these tokens: each one's index in the escrow (`tokenConfigOf`). */
async function tokenMask(context: EscrowContext, tokens: readonly KnownToken[]): Promise<bigint> {
  const indexes: number[] = [];
  for (const token of tokens) indexes.push(Number((await context.escrow.tokenConfigOf(token.address)).index));
  return acceptedTokenMask(indexes);
}

/** The tokens a new intent accepts: those named by --accept (comma-separated), else every token the deployment records. */
async function acceptedTokens(context: EscrowContext, accept: string | undefined): Promise<KnownToken[]> {
  const names = accept === undefined ? Object.keys(context.deployment.tokens) : accept.split(",").map((name) => name.trim());
  const tokens: KnownToken[] = [];
  for (const name of names) {
    if (name === "") throw new OperatorError("--accept: a token name is empty");
    tokens.push(await knownToken(context, "accept", name));
  }
  return tokens;
}

async function demoIntent(context: EscrowContext, usd: bigint, accepted: readonly KnownToken[]): Promise<{ intent: PaymentIntent; signature: Hex }> {
  const demo = context.deployment.demoMerchant;
  if (!demo) throw new OperatorError("the local deployment records no demo merchant; pass --intent with a signed intent");
  const signer = await context.hre.ethers.getSigner(demo.signer);
  const now = BigInt((await context.hre.ethers.provider.getBlock("latest"))!.timestamp);
  const intent: PaymentIntent = {
    paymentId: newPaymentId(demo.merchant),
    merchant: demo.merchant,
    amountUsd: usd,
    expiry: now + DEFAULT_TTL_SECONDS,
    refundTo: zeroAddress,
    acceptedTokens: await tokenMask(context, accepted),
  };
  const domain = paymentIntentDomain({ chainId: context.chainId, escrow: context.deployment.escrow });
  const signature = (await signer.signTypedData(domain, { PaymentIntent: [...PAYMENT_INTENT_TYPES.PaymentIntent] }, intent)) as Hex;
  return { intent, signature };
}

async function amountFor(context: EscrowContext, token: KnownToken, usd: bigint): Promise<bigint> {
  const config = await context.escrow.tokenConfigOf(token.address);
  // A disallowed token's feed reads zero on the escrow: price it by the deployment's record, so that the customer
  // still sends it and the escrow's refusal is what the simulation reports.
  const recorded = Object.values(context.deployment.tokens).find((known) => known.address === token.address)?.feed;
  const feedAddress = config.feed !== zeroAddress ? config.feed : recorded;
  if (!feedAddress) throw new OperatorError(`${token.symbol} has no feed on the escrow (disallowed) nor in the deployment record`);
  const feed = await context.hre.ethers.getContractAt("MockV3Aggregator", feedAddress);
  const [, answer] = await feed.latestRoundData();
  return tokensForUsd(usd, { answer, feedDecimals: Number(config.feedDecimals), tokenDecimals: token.decimals });
}

/** Gives the customer the tokens to pay with: test tokens are minted, BNB comes with Hardhat's accounts. */
async function fund(context: EscrowContext, customer: Address, token: KnownToken, amount: bigint) {
  if (token.address === zeroAddress) return;
  const testToken = await context.hre.ethers.getContractAt("TestToken", token.address);
  await (await testToken.mint(customer, amount)).wait();
}

export async function simulate(
  hre: HardhatRuntimeEnvironment,
  args: {
    scenario?: string;
    token?: string;
    usd?: string;
    via?: string;
    intent?: string;
    accept?: string;
    save?: string;
    collect?: boolean;
  },
  out: (line: string) => void = console.log,
): Promise<SimulationResult> {
  const scenario = parseChoice("scenario", args.scenario ?? "full", SCENARIOS);
  const via = parseChoice("via", args.via ?? "direct", ROUTES);
  const usd = args.intent === undefined ? parseUsd("usd", args.usd ?? "25") : undefined;
  const given = args.intent === undefined ? undefined : readIntentFile("intent", args.intent);
  const context = await escrowContext(hre, {}, out);
  if (context.chainId !== LOCAL_CHAIN_ID) {
    throw new OperatorError(`simulate mints test tokens and pays from Hardhat's accounts: run it on a local chain, not chain ${context.chainId}`);
  }
  const token = await knownToken(context, "token", args.token ?? "USDT");
  if (given && args.accept !== undefined) throw new OperatorError("--accept: only for a new intent, not with --intent");
  const { intent, signature } = given ?? (await demoIntent(context, usd!, await acceptedTokens(context, args.accept)));
  if (args.save) writeIntentFile(args.save, intent, signature);

  const { escrow } = context;
  const customer = (await hre.ethers.getSigners())[CUSTOMER_ACCOUNT];
  const depositAddress = (await escrow.depositAddressOf(intent)) as Address;
  // What is still due by the intent's terms in this token, whatever the clock says (the escrow's remainingUsd is 0
  // once expired). Each accepted token adds up apart: the payment's record holds its first deposit's token; what
  // was paid in another is what its payers here (the customer, the deposit address) hold in it.
  const recorded = await escrow.paymentOf(intent.paymentId);
  const open = Number(recorded.status) <= 1;
  const recordsThisToken = Number(recorded.status) === 0 || (await escrow.tokenAt(recorded.tokenIndex)) === token.address;
  let received = BigInt(recorded.receivedUsd);
  if (!recordsThisToken) {
    const held: bigint =
      (await escrow.depositOf(intent.paymentId, token.address, customer.address)) + (await escrow.depositOf(intent.paymentId, token.address, depositAddress));
    received = held === 0n ? 0n : await escrow.quoteUsd(token.address, held);
  }
  const due = open && intent.amountUsd > received ? intent.amountUsd - received : 0n;
  if (scenario === "late") {
    // Past the expiry and the operator's late-collect window: nothing sent now can count for the payment.
    const lateWindow: bigint = await escrow.LATE_COLLECT_WINDOW();
    const now = BigInt((await hre.ethers.provider.getBlock("latest"))!.timestamp);
    if (now <= intent.expiry + lateWindow) {
      await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(intent.expiry + lateWindow + 1n)]);
      await hre.network.provider.send("evm_mine", []);
    }
  }
  const amount = await amountFor(context, token, (due * SHARE[scenario]) / 100n);
  if (amount === 0n) throw new OperatorError(`payment ${intent.paymentId} has nothing left to pay`);
  await fund(context, customer.address as Address, token, amount);

  let transaction: Hex | undefined;
  let refused: string | undefined;
  try {
    const tx =
      via === "deposit-address"
        ? token.address === zeroAddress
          ? await customer.sendTransaction({ to: depositAddress, value: amount })
          : await (await hre.ethers.getContractAt("TestToken", token.address, customer)).transfer(depositAddress, amount)
        : token.address === zeroAddress
          ? await escrow.connect(customer).getFunction("payNative")(intent, signature, zeroAddress, { value: amount })
          : await (async () => {
              await (await (await hre.ethers.getContractAt("TestToken", token.address, customer)).approve(context.deployment.escrow, amount)).wait();
              return escrow.connect(customer).getFunction("pay")(intent, signature, token.address, amount, zeroAddress);
            })();
    transaction = (await tx.wait())!.hash as Hex;
    if (via === "deposit-address" && args.collect && scenario !== "late") {
      const operator = await hre.ethers.getSigner(context.deployment.roles.operator);
      await (await escrow.connect(operator).getFunction("collect")(intent, signature, token.address)).wait();
    }
  } catch (error) {
    refused = describeRevert(escrow, error);
    if (!refused) throw error;
  }

  const payment = await escrow.paymentOf(intent.paymentId);
  const remaining: bigint = await escrow.remainingUsd(intent);
  const result: SimulationResult = {
    paymentId: intent.paymentId,
    scenario,
    via,
    token: token.symbol,
    amount: formatUnits(amount, token.decimals),
    depositAddress,
    transaction,
    refused,
    status: escrowPaymentStatus(payment.status),
    receivedUsd: formatUnits(payment.receivedUsd, 18),
    remainingUsd: formatUnits(remaining, 18),
  };
  out(JSON.stringify(result));
  return result;
}

operatorCommand(
  "simulate",
  "A customer pays a payment on a local chain: in full, partly, too much, or after it expired (for demos and tests)",
  [
    ["scenario", `One of ${SCENARIOS.join(", ")} (default: full)`],
    ["token", "USDT, USDC or BNB (default: USDT)"],
    ["usd", "Price of a new payment for the demo merchant, in USD (default: 25)"],
    ["via", "direct (pay/payNative from the customer's wallet) or deposit-address (a plain transfer), default direct"],
    ["intent", "Pay this signed intent (JSON { intent, signature }) instead of a new one"],
    ["accept", "Tokens a new intent accepts, comma-separated (default: every token of the deployment)"],
    ["save", "Write the signed intent to this JSON file (for expire --intent)"],
  ],
  simulate,
  [["collect", "With --via deposit-address: collect the deposit at once as the operator, as the keeper would"]],
);
