import type { EthereumProvider } from "hardhat/types";
import { createPublicClient, createWalletClient, encodeFunctionData, erc20Abi, http, parseAbi, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bsc } from "viem/chains";
import { readPaymentRequestUri, type PaymentRequest } from "../stack/scannedPaymentRequest";
import { keyOf } from "./cast";

const mintAbi = parseAbi(["function mint(address to, uint256 amount)"]);

/**
 * The customer: a wallet that knows BNB Smart Chain as any wallet does (viem's `bsc`: chain 56, BNB), signs on this
 * machine and pays a scanned EIP-681 request with a plain transfer — BEP-20 `transfer` or a BNB send to the deposit
 * address — and nothing of Open Pay. Its tokens come from their issuers (`world`), as bought on an exchange.
 */
export class ScanAndSendCustomer {
  readonly account = privateKeyToAccount(keyOf("customer"));
  private readonly reader;
  private readonly writer;
  private lastSubmission: Promise<unknown> = Promise.resolve();

  constructor(
    rpcUrl: string,
    private readonly chain: { provider: EthereumProvider },
  ) {
    const network = { ...bsc, rpcUrls: { default: { http: [rpcUrl] } } };
    this.reader = createPublicClient({ chain: network, transport: http(rpcUrl), pollingInterval: 50 });
    this.writer = createWalletClient({ account: this.account, chain: network, transport: http(rpcUrl) });
  }

  /** Reads the URI as a wallet does; refuses one for another chain than BSC's. */
  scan(uri: string): PaymentRequest {
    const request = readPaymentRequestUri(uri);
    if (request.chainId !== bsc.id) throw new Error(`${uri} asks for chain ${request.chainId}; the customer's wallet is on BNB Smart Chain (${bsc.id})`);
    return request;
  }

  /** Has the token's issuer (`world`) hand the customer what the request asks, when it is a token. */
  async getTokensFor(request: PaymentRequest, issuer: Address): Promise<void> {
    if (request.kind !== "token") return;
    const held = await this.reader.readContract({ address: request.token, abi: erc20Abi, functionName: "balanceOf", args: [this.account.address] });
    if (held >= request.amount) return;
    const hash = (await this.chain.provider.request({
      method: "eth_sendTransaction",
      params: [
        {
          from: issuer,
          to: request.token,
          data: encodeFunctionData({ abi: mintAbi, functionName: "mint", args: [this.account.address, request.amount - held] }),
        },
      ],
    })) as Hex;
    await this.mined(hash, "the issuer's transfer to the customer");
  }

  /**
   * Sends what the request asks to whom it names: one plain transfer. Resolves once mined. Payments made at once go
   * out one after the other, as from one wallet: each takes the next nonce.
   */
  async send(request: PaymentRequest): Promise<{ hash: Hex; blockNumber: bigint }> {
    const submitted = this.lastSubmission.then(() =>
      request.kind === "token"
        ? this.writer.writeContract({ address: request.token, abi: erc20Abi, functionName: "transfer", args: [request.to, request.amount] })
        : this.writer.sendTransaction({ to: request.to, value: request.amount }),
    );
    this.lastSubmission = submitted.catch(() => undefined);
    const hash = await submitted;
    return { hash, blockNumber: await this.mined(hash, "the customer's transfer") };
  }

  private async mined(hash: Hex, what: string): Promise<bigint> {
    const receipt = await this.reader.waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 30_000 });
    if (receipt.status !== "success") throw new Error(`${what} ${hash} reverted`);
    return receipt.blockNumber;
  }
}
