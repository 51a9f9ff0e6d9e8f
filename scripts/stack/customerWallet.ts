import { createPublicClient, createWalletClient, defineChain, erc20Abi, formatUnits, http, parseAbi, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatAccountKey, LOCAL_ACCOUNTS } from "./hardhatAccounts";
import type { PaymentRequest } from "./scannedPaymentRequest";

/** The local deployment's USDT and USDC (contracts/test/TestToken.sol) mint to anyone: the demo's faucet. */
const testTokenAbi = parseAbi(["function mint(address to, uint256 amount)"]);

/**
 * The demo's customer: Hardhat's account 6 on the local chain, paying a scanned payment request with a plain
 * transfer, as any wallet or exchange withdrawal would — no escrow call, no Open Pay code.
 */
export class CustomerWallet {
  readonly account = privateKeyToAccount(hardhatAccountKey(LOCAL_ACCOUNTS.customer));
  private readonly chain;
  private readonly reader;
  private readonly writer;

  constructor(
    readonly rpcUrl: string,
    chainId: number,
  ) {
    this.chain = defineChain({
      id: chainId,
      name: `Local chain ${chainId}`,
      nativeCurrency: { name: "BNB", symbol: "BNB", decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    });
    this.reader = createPublicClient({ chain: this.chain, transport: http(rpcUrl) });
    this.writer = createWalletClient({ account: this.account, chain: this.chain, transport: http(rpcUrl) });
  }

  /**
   * Makes sure the customer holds what the request asks: local test tokens are minted (a faucet's part); the native
   * coin comes with Hardhat's accounts. Returns a line saying what happened, or undefined when nothing was needed.
   */
  async fund(request: PaymentRequest, symbol: string, decimals: number): Promise<string | undefined> {
    if (request.kind === "native") return undefined;
    const balance = await this.reader.readContract({ address: request.token, abi: erc20Abi, functionName: "balanceOf", args: [this.account.address] });
    if (balance >= request.amount) return undefined;
    const missing = request.amount - balance;
    const hash = await this.writer.writeContract({ address: request.token, abi: testTokenAbi, functionName: "mint", args: [this.account.address, missing] });
    await this.reader.waitForTransactionReceipt({ hash });
    return `the customer gets ${formatUnits(missing, decimals)} test ${symbol} first (the local ${symbol} mints to anyone)`;
  }

  /** Sends what the request asks to whom it names; resolves once mined. */
  async pay(request: PaymentRequest): Promise<{ hash: Hex; blockNumber: bigint }> {
    const hash =
      request.kind === "token"
        ? await this.writer.writeContract({ address: request.token, abi: erc20Abi, functionName: "transfer", args: [request.to, request.amount] })
        : await this.writer.sendTransaction({ to: request.to, value: request.amount });
    const receipt = await this.reader.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`the customer's transfer ${hash} reverted`);
    return { hash, blockNumber: receipt.blockNumber };
  }
}
