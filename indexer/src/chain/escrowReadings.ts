import { decodeAbiParameters, encodeDeployData, type Address, type Hex, type PublicClient } from "viem";
import { ESCROW_STATUSES, type OnChainPayment } from "../payments/settlement";
import { balanceReader, escrowPaymentReader } from "./readerCode";

/** Where to read: a block by hash (EIP-1898), so that the answer is that of exactly the block the indexer holds. */
export type ReadAt = { blockHash: Hex };

/**
 * Items per call. A reader's answer is returned as if it were the code it deploys, so nodes hold it to the code
 * size limit (EIP-170: 24,576 bytes): 150 payments of 160 bytes, or 700 balances of 32 bytes, stay below it.
 */
const PAYMENTS_PER_CALL = 150;
const BALANCES_PER_CALL = 700;

function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

async function deploylessCall(client: PublicClient, data: Hex, at: ReadAt): Promise<Hex> {
  return (await client.request({ method: "eth_call", params: [{ data }, { blockHash: at.blockHash }] as never })) as Hex;
}

/** The escrow's record of each payment, in the order of `paymentIds`, at the block `at`. */
export async function readEscrowPayments(client: PublicClient, escrow: Address, paymentIds: readonly Hex[], at: ReadAt): Promise<OnChainPayment[]> {
  const chunks = await Promise.all(
    chunked(paymentIds, PAYMENTS_PER_CALL).map(async (ids) => {
      const data = encodeDeployData({ abi: escrowPaymentReader.abi, bytecode: escrowPaymentReader.bytecode, args: [escrow, ids] });
      const [decoded] = decodeAbiParameters(PAYMENT_STATES, await deploylessCall(client, data, at));
      if (decoded.length !== ids.length) throw new Error(`the payment reader answered ${decoded.length} payments for ${ids.length}`);
      return decoded.map((state) => {
        const status = ESCROW_STATUSES[state.status];
        if (status === undefined) throw new Error(`escrow ${escrow}: payment status ${state.status} is not one this indexer knows`);
        return { status, token: state.token, amount: state.amount, receivedUsd: state.receivedUsd, refunded: state.refunded };
      });
    }),
  );
  return chunks.flat();
}

/** What EscrowPaymentReader's constructor returns: `abi.encode(PaymentState[])`. */
export const PAYMENT_STATES = [
  {
    type: "tuple[]",
    components: [
      { name: "status", type: "uint8" },
      { name: "token", type: "address" },
      { name: "amount", type: "uint256" },
      { name: "receivedUsd", type: "uint256" },
      { name: "refunded", type: "uint256" },
    ],
  },
] as const;

/**
 * What each account holds of each token at the block `at` (the zero address: BNB), as `balances[account][token]`
 * in the order given.
 */
export async function readBalances(client: PublicClient, accounts: readonly Address[], tokens: readonly Address[], at: ReadAt): Promise<bigint[][]> {
  if (tokens.length === 0) return accounts.map(() => []);
  const chunks = await Promise.all(
    chunked(accounts, Math.max(1, Math.floor(BALANCES_PER_CALL / tokens.length))).map(async (chunk) => {
      const data = encodeDeployData({ abi: balanceReader.abi, bytecode: balanceReader.bytecode, args: [chunk, tokens] });
      const [flat] = decodeAbiParameters([{ type: "uint256[]" }], await deploylessCall(client, data, at));
      if (flat.length !== chunk.length * tokens.length)
        throw new Error(`the balance reader answered ${flat.length} balances for ${chunk.length * tokens.length}`);
      return chunk.map((_, k) => flat.slice(k * tokens.length, (k + 1) * tokens.length));
    }),
  );
  return chunks.flat();
}
