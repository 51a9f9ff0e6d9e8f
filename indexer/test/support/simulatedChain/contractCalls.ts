import { decodeAbiParameters, encodeAbiParameters, erc20Abi, toFunctionSelector, zeroAddress, type Address, type Hex } from "viem";
import { PAYMENT_STATES } from "../../../src/chain/escrowReadings";
import { balanceReader, escrowPaymentReader } from "../../../src/chain/readerCode";
import { balanceOf, depositOf, paymentOf, STATUS, type EscrowState } from "./modelEscrow";
import { executionReverted } from "./rpcError";
import type { SimulatedChain } from "./simulatedChain";

/**
 * `eth_call` against the model at a block: the two deployless readers (their creation code with constructor
 * arguments as the call's data, no `to`), answered with what their constructors `return`; the escrow's
 * `LATE_COLLECT_WINDOW()`, `tokenAt(uint8)` and `depositOf(bytes32,address,address)`; and the tokens'
 * `balanceOf(address)`. Anything else at the escrow or a token reverts, and a call to any other address answers `0x`,
 * as a call to an account without code does.
 */

const READER_CODE = {
  payments: escrowPaymentReader.bytecode.toLowerCase(),
  balances: balanceReader.bytecode.toLowerCase(),
};

const LATE_COLLECT_WINDOW = toFunctionSelector("LATE_COLLECT_WINDOW()");
const TOKEN_AT = toFunctionSelector("tokenAt(uint8)");
const DEPOSIT_OF = toFunctionSelector("depositOf(bytes32,address,address)");
const BALANCE_OF = toFunctionSelector(erc20Abi.find((item) => item.type === "function" && item.name === "balanceOf")!);

/** EscrowPaymentReader: each payment's status, token (zero before the first deposit), amount and USD received. */
function readPayments(chain: SimulatedChain, state: EscrowState, args: Hex): Hex {
  const [escrow, paymentIds] = decodeAbiParameters(escrowPaymentReader.abi[0].inputs, args);
  // The reader calls `paymentOf` on the address it is given: anything but the escrow has no such function.
  if (escrow.toLowerCase() !== chain.escrow) throw executionReverted();
  const states = paymentIds.map((id) => {
    const payment = paymentOf(state, id);
    if (!payment || payment.status === STATUS.None) return { status: STATUS.None, token: zeroAddress as Address, amount: 0n, receivedUsd: 0n, refunded: 0n };
    const refunds = payment.status === STATUS.PartiallyRefunded || payment.status === STATUS.Refunded;
    return {
      status: payment.status,
      token: payment.token,
      amount: payment.amount,
      receivedUsd: payment.receivedUsd,
      refunded: refunds ? payment.refunded : 0n,
    };
  });
  return encodeAbiParameters(PAYMENT_STATES, [states]);
}

/** BalanceReader: for each account, its balance of each token in order (the zero address: BNB). */
function readBalances(chain: SimulatedChain, state: EscrowState, args: Hex): Hex {
  const [accounts, tokens] = decodeAbiParameters(balanceReader.abi[0].inputs, args);
  // `IERC20(token).balanceOf` on an address without code reverts (the empty answer does not decode).
  for (const token of tokens) if (token !== zeroAddress && !chain.tokens.has(token.toLowerCase() as Address)) throw executionReverted();
  const balances = accounts.flatMap((account) => tokens.map((token) => balanceOf(state, token, account)));
  return encodeAbiParameters([{ type: "uint256[]" }], [balances]);
}

export function answerCall(chain: SimulatedChain, state: EscrowState, call: { to?: Address | null; data: Hex }): Hex {
  const data = call.data.toLowerCase() as Hex;
  if (!call.to) {
    if (data.startsWith(READER_CODE.payments)) return readPayments(chain, state, `0x${data.slice(READER_CODE.payments.length)}`);
    if (data.startsWith(READER_CODE.balances)) return readBalances(chain, state, `0x${data.slice(READER_CODE.balances.length)}`);
    // Other creation code is not modelled: say so rather than answer something plausible.
    throw executionReverted();
  }
  const to = call.to.toLowerCase() as Address;
  if (to === chain.escrow) {
    if (data === LATE_COLLECT_WINDOW) return encodeAbiParameters([{ type: "uint256" }], [chain.model.lateCollectWindow]);
    if (data.startsWith(TOKEN_AT) && data.length === 2 + 8 + 64) {
      const [index] = decodeAbiParameters([{ type: "uint8" }], `0x${data.slice(10)}`);
      const token = [...chain.model.tokenIndexes].find(([, at]) => at === index)?.[0] ?? zeroAddress;
      return encodeAbiParameters([{ type: "address" }], [token]);
    }
    if (data.startsWith(DEPOSIT_OF) && data.length === 2 + 8 + 3 * 64) {
      const [paymentId, token, payer] = decodeAbiParameters([{ type: "bytes32" }, { type: "address" }, { type: "address" }], `0x${data.slice(10)}`);
      return encodeAbiParameters([{ type: "uint256" }], [depositOf(paymentOf(state, paymentId), token, payer)]);
    }
    throw executionReverted();
  }
  if (chain.tokens.has(to)) {
    if (data.startsWith(BALANCE_OF) && data.length === 2 + 8 + 64) {
      const [account] = decodeAbiParameters([{ type: "address" }], `0x${data.slice(10)}`);
      return encodeAbiParameters([{ type: "uint256" }], [balanceOf(state, to, account)]);
    }
    throw executionReverted();
  }
  return "0x";
}
