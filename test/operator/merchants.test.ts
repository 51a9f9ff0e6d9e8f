import hre from "hardhat";
import { expect } from "chai";
import { registerMerchant } from "../../scripts/operator/merchants";
import { blockNumber, captureLog, decodeCalldata, operatorError, useLocalOpenPay } from "./support";

describe("operator: register-merchant", function () {
  const world = useLocalOpenPay();

  /** Accounts 10, 11 and 12: a merchant the deployment has not registered, its payout wallet and signer. */
  function newcomer() {
    const [merchant, payout, signer] = world.signers.slice(10, 13).map((signer) => signer.address);
    return { merchant, payout, signer };
  }

  it("registers a merchant with its payout wallet and intent signer", async function () {
    const { merchant, payout, signer } = newcomer();
    expect((await world.escrow.merchantOf(merchant)).id).to.equal(0n);
    const { lines } = await captureLog(() => registerMerchant(hre, { merchant, payout, signer }));
    expect(lines[0]).to.match(/^registerMerchant: transaction 0x[0-9a-f]{64} in block \d+$/);

    const registered = await world.escrow.merchantOf(merchant);
    expect(registered.id).to.equal(2n); // the demo merchant is 1
    expect(registered.payout).to.equal(payout);
    expect(await world.escrow.isSigner(merchant, signer)).to.equal(true);
    expect(await world.escrow.isSigner(merchant, world.intentSigner.address)).to.equal(false);
  });

  it("takes lower-case addresses", async function () {
    const { merchant, payout, signer } = newcomer();
    await captureLog(() => registerMerchant(hre, { merchant: merchant.toLowerCase(), payout: payout.toLowerCase(), signer: signer.toLowerCase() }));
    expect((await world.escrow.merchantOf(merchant)).payout).to.equal(payout);
    expect(await world.escrow.isSigner(merchant, signer)).to.equal(true);
  });

  it("refuses a malformed address, a wrong checksum and a missing option, naming the option", async function () {
    const { merchant, payout, signer } = newcomer();
    expect(await operatorError(registerMerchant(hre, { merchant: "0xnothex", payout, signer }))).to.equal(
      '--merchant: "0xnothex" is not an address (0x and 40 hex digits)',
    );
    const mixed = signer.replace(/[a-f]/, (letter) => letter.toUpperCase());
    expect(await operatorError(registerMerchant(hre, { merchant, payout, signer: mixed }))).to.equal(
      `--signer: ${mixed} has a wrong EIP-55 checksum (a typo?); expected ${signer}`,
    );
    expect(await operatorError(registerMerchant(hre, { merchant, signer }))).to.equal("--payout is required");
    expect((await world.escrow.merchantOf(merchant)).id).to.equal(0n);
  });

  it("refuses a sender without SIGNER_MANAGER_ROLE", async function () {
    const { merchant, payout, signer } = newcomer();
    const before = await blockNumber();
    const message = await operatorError(registerMerchant(hre, { merchant, payout, signer, from: world.operator.address }));
    expect(message).to.equal(`${world.operator.address} does not hold SIGNER_MANAGER_ROLE on the escrow ${world.record.escrow}`);
    expect(await blockNumber()).to.equal(before);
  });

  it("turns the escrow's refusal of a registered merchant into one line", async function () {
    const { payout, signer } = newcomer();
    const message = await operatorError(registerMerchant(hre, { merchant: world.merchant.address, payout, signer }));
    expect(message).to.equal(`registerMerchant: the escrow refused: MerchantAlreadyRegistered(merchant=${world.merchant.address})`);
    expect((await world.escrow.merchantOf(world.merchant.address)).payout).to.equal(world.payout.address);
  });

  it("--calldata prints registerMerchant(merchant, payout, signer) and sends nothing", async function () {
    const { merchant, payout, signer } = newcomer();
    const before = await blockNumber();
    const { lines } = await captureLog(() => registerMerchant(hre, { merchant, payout, signer, calldata: true }));
    const { printed, call } = decodeCalldata(world.escrow, lines);
    expect(printed).to.include({ to: world.record.escrow, value: "0", method: "registerMerchant" });
    expect(call.name).to.equal("registerMerchant");
    expect([...call.args]).to.deep.equal([merchant, payout, signer]);
    expect(await blockNumber()).to.equal(before);
    expect((await world.escrow.merchantOf(merchant)).id).to.equal(0n);
  });
});
