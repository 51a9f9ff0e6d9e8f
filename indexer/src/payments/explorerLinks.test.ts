import { expect } from "chai";
import { explorerOf } from "./explorerLinks";

const hash = `0x${"ab".repeat(32)}`;

describe("explorerOf", () => {
  it("links BSC mainnet and testnet transactions to BscScan", () => {
    expect(explorerOf(56)?.transactionUrl(hash)).to.equal(`https://bscscan.com/tx/${hash}`);
    expect(explorerOf(97)?.transactionUrl(hash)).to.equal(`https://testnet.bscscan.com/tx/${hash}`);
  });

  it("has no explorer for the local chain or an unknown one", () => {
    expect(explorerOf(31337)).to.equal(undefined);
    expect(explorerOf(1)).to.equal(undefined);
  });
});
