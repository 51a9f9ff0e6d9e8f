import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import PriceBandModule from "../../deploy/modules/PriceBand";
import { deployEscrow, PRICE, STALENESS, TOKENS } from "../support/fixture";

describe("deploy/modules/PriceBand", function () {
  it("deploys a band around a token's feed from its parameters; named as the token's feed, it bounds valuations", async function () {
    const f = await loadFixture(deployEscrow);
    const feed = await f.usdcFeed.getAddress();
    const { band } = await hre.ignition.deploy(PriceBandModule, {
      parameters: { PriceBand: { feed, minAnswer: PRICE("0.97").toString(), maxAnswer: PRICE("1.03").toString() } },
    });
    expect(await band.FEED()).to.equal(feed);
    expect(await band.MIN_ANSWER()).to.equal(PRICE("0.97"));
    expect(await band.MAX_ANSWER()).to.equal(PRICE("1.03"));

    const usdc = await f.usdc.getAddress();
    await f.escrow.setToken(usdc, await band.getAddress(), STALENESS.stable);
    expect(await f.escrow.quoteUsd(usdc, TOKENS("10"))).to.equal(TOKENS("10"));
    await f.usdcFeed.updateAnswer(PRICE("0.9"));
    await expect(f.escrow.quoteUsd(usdc, TOKENS("10")))
      .to.be.revertedWithCustomError(f.escrow, "PriceOutsideBand")
      .withArgs(feed, PRICE("0.9"), PRICE("0.97"), PRICE("1.03"));
  });

  it("refuses a band that holds no price, naming InvalidBand", async function () {
    const f = await loadFixture(deployEscrow);
    const deploying = hre.ignition.deploy(PriceBandModule, {
      parameters: { PriceBand: { feed: await f.usdcFeed.getAddress(), minAnswer: PRICE("1.03").toString(), maxAnswer: PRICE("0.97").toString() } },
    });
    await expect(deploying).to.be.rejectedWith(/InvalidBand/);
  });
});
