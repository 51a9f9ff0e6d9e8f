import { expect } from "chai";
import type { Address, Hex } from "viem";
import { ContractAddressCache } from "./contractAddressCache";

const MERCHANT: Address = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

/** A node whose code per address the test sets, counting what it is asked, and a clock the test moves. */
function fixture() {
  const code = new Map<string, Hex | undefined>();
  const asked: Address[] = [];
  let time = Date.parse("2026-01-01T00:00:00Z");
  const cache = new ContractAddressCache(
    async (address) => {
      asked.push(address);
      return code.get(address.toLowerCase());
    },
    () => new Date(time),
    60_000,
  );
  return {
    cache,
    asked,
    setCode: (address: Address, value: Hex | undefined) => code.set(address.toLowerCase(), value),
    advance: (ms: number) => {
      time += ms;
    },
  };
}

describe("contract address cache", () => {
  it("asks once for an address with code, and keeps it however long after", async () => {
    const { cache, asked, setCode, advance } = fixture();
    setCode(MERCHANT, "0x6080");
    expect(await cache.isContract(MERCHANT)).to.equal(true);
    advance(365 * 24 * 3600_000);
    expect(await cache.isContract(MERCHANT.toLowerCase() as Address)).to.equal(true);
    expect(asked).to.have.length(1);
  });

  it("keeps an address without code (empty or none) for the minute only, then sees a Safe deployed meanwhile", async () => {
    const { cache, asked, setCode, advance } = fixture();
    setCode(MERCHANT, "0x");
    expect(await cache.isContract(MERCHANT)).to.equal(false);
    setCode(MERCHANT, "0x6080");
    advance(59_999);
    expect(await cache.isContract(MERCHANT)).to.equal(false);
    expect(asked).to.have.length(1);
    advance(1);
    expect(await cache.isContract(MERCHANT)).to.equal(true);
    expect(asked).to.have.length(2);

    const wallet: Address = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
    setCode(wallet, undefined);
    expect(await cache.isContract(wallet)).to.equal(false);
    advance(60_000);
    expect(await cache.isContract(wallet)).to.equal(false);
    expect(asked).to.have.length(4);
  });

  it("remembers nothing when the node fails to answer", async () => {
    let fail = true;
    let asked = 0;
    const cache = new ContractAddressCache(
      async () => {
        asked += 1;
        if (fail) throw new Error("node down");
        return "0x6080";
      },
      () => new Date(0),
    );
    await cache.isContract(MERCHANT).then(
      () => expect.fail("answered without the node"),
      (error: Error) => expect(error.message).to.equal("node down"),
    );
    fail = false;
    expect(await cache.isContract(MERCHANT)).to.equal(true);
    expect(asked).to.equal(2);
  });
});
