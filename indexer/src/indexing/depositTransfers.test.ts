import { expect } from "chai";
import { pad, type Address, type Hex, type Log } from "viem";
import { depositTransferEvents, tokenSet } from "./depositTransfers";
import { TRANSFER_TOPIC } from "./segmentReader";

const ID = `0x${"11".repeat(32)}` as Hex;
const DEPOSIT = "0x2222222222222222222222222222222222222222" as Address;
const USDT = "0x3333333333333333333333333333333333333333" as Address;
const JUNK = "0x9999999999999999999999999999999999999999" as Address;
const SENDER = "0x4444444444444444444444444444444444444444" as Address;
const BLOCK_HASH = `0x${"ab".repeat(32)}` as Hex;

const topic = (address: Address) => pad(address.toLowerCase() as Hex, { size: 32 });
function transferLog(token: Address, amount: bigint, logIndex: number, extraTopics: Hex[] = []): Log {
  return {
    address: token,
    topics: [TRANSFER_TOPIC, topic(SENDER), topic(DEPOSIT), ...extraTopics],
    data: extraTopics.length > 0 ? "0x" : pad(`0x${amount.toString(16)}`, { size: 32 }),
    blockNumber: 7n,
    blockHash: BLOCK_HASH,
    logIndex,
    transactionHash: `0x${"55".repeat(32)}`,
    transactionIndex: 0,
    removed: false,
  } as Log;
}

describe("deposit-address transfers", function () {
  const events = (logs: Log[]) => depositTransferEvents(logs, new Map([[DEPOSIT, ID]]), new Map([[7, { timestamp: 1_000n }]]), tokenSet([USDT]));

  it("funds the payment with a token the escrow takes, and reports any other token as unaccepted", function () {
    expect(events([transferLog(USDT, 5n, 0), transferLog(JUNK, 9n, 1)]).map(({ event }) => event)).to.deep.equal([
      {
        kind: "deposit_address_funded",
        position: { blockNumber: 7, logIndex: 0 },
        transactionHash: `0x${"55".repeat(32)}`,
        token: USDT,
        amount: 5n,
        sender: SENDER,
        timestamp: 1_000n,
      },
      {
        kind: "unaccepted_transfer",
        position: { blockNumber: 7, logIndex: 1 },
        transactionHash: `0x${"55".repeat(32)}`,
        token: JUNK,
        amount: 9n,
        sender: SENDER,
      },
    ]);
  });

  it("leaves out an NFT's Transfer (same topic, a token id indexed, no amount) and unaccepted transfers of nothing", function () {
    expect(events([transferLog(JUNK, 0n, 0, [pad("0x01", { size: 32 })]), transferLog(JUNK, 0n, 1)])).to.deep.equal([]);
  });
});
