import { expect } from "chai";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatAccountKey, LOCAL_ACCOUNTS } from "./hardhatAccounts";

describe("Hardhat's development accounts", function () {
  it("gives the keys of the accounts every Hardhat chain funds, at their published addresses", function () {
    const address = (index: number) => privateKeyToAccount(hardhatAccountKey(index)).address;
    expect(hardhatAccountKey(0)).to.equal("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    expect(address(0)).to.equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    expect(address(LOCAL_ACCOUNTS.operator)).to.equal("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    expect(address(LOCAL_ACCOUNTS.intentSigner)).to.equal("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65");
    expect(hardhatAccountKey(LOCAL_ACCOUNTS.customer)).to.equal("0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e");
  });
});
