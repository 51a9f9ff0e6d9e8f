import { expect } from "chai";
import { artifacts, ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { TOKENS } from "./support/fixture";
import { depositAndCollect, depositFixture, plainTransfer } from "./support/depositAddresses";

/** The state variables a contract itself declares (not inherited), constants and immutables aside. */
async function ownStateVariables(name: string): Promise<string[]> {
  const buildInfo = await artifacts.getBuildInfo(`contracts/${name}.sol:${name}`);
  const ast = buildInfo!.output.sources[`contracts/${name}.sol`].ast as {
    nodes: Array<{ nodeType: string; name?: string; nodes?: Array<{ nodeType: string; name: string; stateVariable?: boolean; mutability?: string }> }>;
  };
  const contract = ast.nodes.find((node) => node.nodeType === "ContractDefinition" && node.name === name)!;
  return contract
    .nodes!.filter((node) => node.nodeType === "VariableDeclaration" && node.stateVariable && node.mutability === "mutable")
    .map((node) => node.name);
}

/**
 * Two code contracts answer at the escrow's address: the payment half (OpenPayEscrow) and, for every call it does
 * not know, its administration (OpenPayEscrowAdmin) by delegatecall on the same storage.
 */
describe("the escrow's two halves", function () {
  it("declares storage in EscrowStorage only, so both halves read and write the same layout", async function () {
    expect(await ownStateVariables("OpenPayEscrow")).to.deep.equal([]);
    expect(await ownStateVariables("OpenPayEscrowAdmin")).to.deep.equal([]);
    expect(await ownStateVariables("EscrowStorage")).to.include.members(["_payments", "_balances", "_ledgers"]);
  });

  it("runs the administration's functions at the escrow's address, and refuses a call neither half knows", async function () {
    const f = await loadFixture(depositFixture);
    const escrow = await f.escrow.getAddress();
    const administration = await f.escrow.ADMINISTRATION();
    expect(administration).to.not.equal(ethers.ZeroAddress);
    expect(await ethers.provider.getCode(administration)).to.not.equal("0x");
    // A view of the escrow's records, answered from the escrow's storage, not the administration's.
    expect((await f.escrow.merchantOf(f.merchant.address)).payout).to.equal(f.payout.address);
    const direct = await ethers.getContractAt("IOpenPayEscrow", administration);
    expect((await direct.merchantOf(f.merchant.address)).payout).to.equal(ethers.ZeroAddress);

    await expect(f.customer.sendTransaction({ to: escrow, data: "0xdeadbeef" })).to.be.reverted;
    // The fallback takes no BNB: it comes only through payNative and deposit-address sweeps.
    await expect(f.customer.sendTransaction({ to: escrow, data: "0xdeadbeef", value: 1n })).to.be.reverted;
    await expect(f.customer.sendTransaction({ to: escrow, data: direct.interface.encodeFunctionData("tokenAt", [1]), value: 1n })).to.be.reverted;
  });

  it("initialises once: the escrow's constructor did, and neither the escrow nor the administration can be initialised again", async function () {
    const f = await loadFixture(depositFixture);
    await expect(f.escrow.connect(f.stranger).initialize(f.stranger.address, f.stranger.address)).to.be.revertedWithCustomError(
      f.escrow,
      "InvalidInitialization",
    );
    const direct = await ethers.getContractAt("IOpenPayEscrow", await f.escrow.ADMINISTRATION());
    await expect(direct.connect(f.stranger).initialize(f.stranger.address, f.stranger.address)).to.be.revertedWithCustomError(
      f.escrow,
      "InvalidInitialization",
    );
    // Called directly, the administration holds no role for anyone: nothing to configure there.
    await expect(direct.connect(f.admin).setTolerance(ethers.ZeroAddress, 0))
      .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
      .withArgs(f.admin.address, await f.escrow.DEFAULT_ADMIN_ROLE());
  });

  it("lets the payment half act on the roles the administration grants and revokes", async function () {
    const f = await loadFixture(depositFixture);
    const s = await f.signed({ acceptedTokens: await f.accepting(f.usdt) }); // so the USDC below is a stray
    const usdc = await f.usdc.getAddress();
    const depositAddress = await depositAndCollect(f, s, f.usdt, TOKENS("40"));
    await plainTransfer(f.usdc, f.customer, depositAddress, TOKENS("60"));

    // Only the operator may say where a stray goes when the intent names no refund address.
    await expect(f.escrow.connect(f.stranger).returnStray(s.intent, usdc, f.customer.address))
      .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
      .withArgs(f.stranger.address, f.OPERATOR_ROLE);
    await f.escrow.connect(f.admin).grantRole(f.OPERATOR_ROLE, f.stranger.address);
    await f.escrow.connect(f.admin).revokeRole(f.OPERATOR_ROLE, f.operator.address);
    await expect(f.escrow.connect(f.operator).returnStray(s.intent, usdc, f.customer.address))
      .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
      .withArgs(f.operator.address, f.OPERATOR_ROLE);
    await expect(f.escrow.connect(f.stranger).returnStray(s.intent, usdc, f.customer.address)).to.changeTokenBalances(
      f.usdc,
      [depositAddress, f.customer],
      [-TOKENS("60"), TOKENS("60")],
    );
  });
});
