import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { BoundedPriceFeed } from "../typechain-types";
import { deployEscrow, PRICE, STALENESS, TOKENS } from "./support/fixture";
import { Status } from "./support/payments";
import { payToken } from "./support/scenarios";

/** A stablecoin's band: $0.95 to $1.05, in the feed's 8 decimals. */
const LOW = PRICE("0.95");
const HIGH = PRICE("1.05");

describe("BoundedPriceFeed: optional per-token price bounds", function () {
  /** The fixture with USDT valued through a band around its Chainlink feed. */
  async function banded() {
    const f = await loadFixture(deployEscrow);
    const Band = await ethers.getContractFactory("BoundedPriceFeed");
    const band = (await Band.deploy(await f.usdtFeed.getAddress(), LOW, HIGH)) as unknown as BoundedPriceFeed;
    const usdt = await f.usdt.getAddress();
    await expect(f.escrow.setToken(usdt, await band.getAddress(), STALENESS.stable))
      .to.emit(f.escrow, "TokenConfigured")
      .withArgs(usdt, await band.getAddress(), STALENESS.stable, 1);
    return { ...f, band, usdt, feed: await f.usdtFeed.getAddress() };
  }

  it("values payments as the feed does while its answer is in the band, ends included", async function () {
    const f = await banded();
    for (const price of [LOW, PRICE("1"), HIGH]) {
      await f.usdtFeed.updateAnswer(price);
      expect(await f.escrow.quoteUsd(f.usdt, TOKENS("100"))).to.equal((TOKENS("100") * price) / PRICE("1"));
    }
    await f.usdtFeed.updateAnswer(PRICE("1"));
    const s = await f.signed();
    await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("100"))).to.emit(f.escrow, "PaymentCompleted");
  });

  it("refuses a stablecoin feed at $0.50 with PriceOutsideBand(feed, answer, min, max): 200 USDT do not pay $100", async function () {
    const f = await banded();
    await f.usdtFeed.updateAnswer(PRICE("0.5"));
    const s = await f.signed();
    await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("200")))
      .to.be.revertedWithCustomError(f.escrow, "PriceOutsideBand")
      .withArgs(f.feed, PRICE("0.5"), LOW, HIGH);
    await expect(f.escrow.quoteUsd(f.usdt, TOKENS("1")))
      .to.be.revertedWithCustomError(f.escrow, "PriceOutsideBand")
      .withArgs(f.feed, PRICE("0.5"), LOW, HIGH);
    expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.None);
  });

  it("refuses one unit beyond either end, and a feed stuck at a floor below the band, in top-ups too", async function () {
    const f = await banded();
    const s = await f.signed();
    await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"))).to.emit(f.escrow, "PaymentDeposited");
    for (const answer of [LOW - 1n, HIGH + 1n, 1n]) {
      await f.usdtFeed.updateAnswer(answer);
      await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("60")))
        .to.be.revertedWithCustomError(f.escrow, "PriceOutsideBand")
        .withArgs(f.feed, answer, LOW, HIGH);
    }
    // Back in the band: the top-up completes, valued at the price then.
    await f.usdtFeed.updateAnswer(PRICE("1"));
    await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("60"))).to.emit(f.escrow, "PaymentCompleted");
  });

  it("passes on the feed's decimals, description, version and rounds, refusing past rounds outside the band", async function () {
    const f = await banded();
    expect(await f.band.FEED()).to.equal(f.feed);
    expect([await f.band.MIN_ANSWER(), await f.band.MAX_ANSWER()]).to.deep.equal([LOW, HIGH]);
    expect(await f.band.decimals()).to.equal(await f.usdtFeed.decimals());
    expect(await f.band.description()).to.equal(await f.usdtFeed.description());
    expect(await f.band.version()).to.equal(await f.usdtFeed.version());
    expect(await f.band.latestRoundData()).to.deep.equal(await f.usdtFeed.latestRoundData());
    const inBand = await f.usdtFeed.latestRound();
    await f.usdtFeed.updateAnswer(PRICE("2"));
    const outside = await f.usdtFeed.latestRound();
    expect(await f.band.getRoundData(inBand)).to.deep.equal(await f.usdtFeed.getRoundData(inBand));
    await expect(f.band.getRoundData(outside)).to.be.revertedWithCustomError(f.band, "PriceOutsideBand").withArgs(f.feed, PRICE("2"), LOW, HIGH);
    // The escrow still checks the feed's decimals through the band: a changed aggregator is caught as before.
    await f.usdtFeed.updateAnswer(PRICE("1"));
    expect(await f.escrow.quoteUsd(f.usdt, TOKENS("1"))).to.equal(TOKENS("1"));
  });

  it("cannot be made without a feed or with a band that holds no price (InvalidBand(min, max))", async function () {
    const f = await loadFixture(deployEscrow);
    const Band = await ethers.getContractFactory("BoundedPriceFeed");
    const feed = await f.usdtFeed.getAddress();
    await expect(Band.deploy(ethers.ZeroAddress, LOW, HIGH)).to.be.revertedWithCustomError(Band, "ZeroFeed");
    for (const [low, high] of [
      [0n, HIGH],
      [-1n, HIGH],
      [HIGH, HIGH],
      [HIGH, LOW],
    ]) {
      await expect(Band.deploy(feed, low, high))
        .to.be.revertedWithCustomError(Band, "InvalidBand")
        .withArgs(low, high);
    }
  });
});
