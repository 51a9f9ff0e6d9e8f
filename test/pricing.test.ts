import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { deployEscrow, NATIVE, PRICE, STALENESS, TOKENS, USD } from "./support/fixture";
import { Status, INDEX, U104_MAX, atNextBlock, deployFeed, deployToken, expectPayment, listToken, usdValue } from "./support/payments";

const DAY = 86_400n;

describe("pricing", function () {
  /**
   * A fixture whose intents stay valid for six days, so that prices can go stale before they expire: the escrow's
   * time-to-live limit is raised to its cap (7 days) for them.
   */
  async function longLived() {
    const f = await loadFixture(deployEscrow);
    await f.escrow.setMaxTtl(await f.escrow.MAX_TTL_CAP_HOURS());
    const now = BigInt(await time.latest());
    const signed = () => f.signed({ expiry: now + 6n * DAY });
    return { ...f, now, longSigned: signed };
  }

  describe("feed checks", function () {
    it("rejects a stale price with StalePrice(feed, updatedAt, staleBy, maxStaleness), staleBy exact", async function () {
      const f = await longLived();
      const feed = await f.usdtFeed.getAddress();
      const updatedAt = f.now - 5n;
      await f.usdtFeed.updateRoundData(7, PRICE("1"), updatedAt, updatedAt);
      const { intent, signature } = await f.longSigned();

      await atNextBlock(updatedAt + BigInt(STALENESS.stable) + 37n);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "StalePrice")
        .withArgs(feed, updatedAt, 37n, STALENESS.stable);
      await expect(f.escrow.quoteUsd(await f.usdt.getAddress(), TOKENS("1")))
        .to.be.revertedWithCustomError(f.escrow, "StalePrice")
        .withArgs(feed, updatedAt, anyValue, STALENESS.stable);
    });

    it("accepts a USDT price exactly maxStaleness old and rejects it one second later with staleBy = 1", async function () {
      const f = await longLived();
      const usdt = await f.usdt.getAddress();
      const updatedAt = f.now;
      await f.usdtFeed.updateRoundData(2, PRICE("1"), updatedAt, updatedAt);
      const a = await f.longSigned();
      const b = await f.longSigned();

      await atNextBlock(updatedAt + BigInt(STALENESS.stable));
      await expect(f.escrow.connect(f.customer).pay(a.intent, a.signature, usdt, TOKENS("100"), ethers.ZeroAddress)).to.emit(f.escrow, "PaymentCompleted");

      await atNextBlock(updatedAt + BigInt(STALENESS.stable) + 1n);
      await expect(f.escrow.connect(f.customer).pay(b.intent, b.signature, usdt, TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "StalePrice")
        .withArgs(await f.usdtFeed.getAddress(), updatedAt, 1n, STALENESS.stable);
    });

    it("applies BNB's own staleness limit (1 hour) at its exact boundary", async function () {
      const f = await longLived();
      const updatedAt = f.now;
      await f.bnbFeed.updateRoundData(2, PRICE("600"), updatedAt, updatedAt);
      const a = await f.longSigned();
      const b = await f.longSigned();

      await atNextBlock(updatedAt + BigInt(STALENESS.bnb));
      await expect(f.escrow.connect(f.customer).payNative(a.intent, a.signature, ethers.ZeroAddress, { value: ethers.parseEther("1") }))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(a.intent.paymentId, f.merchant.address, f.customer.address, NATIVE, ethers.parseEther("1"), USD("600"), USD("600"), USD("500"), 0n);

      await atNextBlock(updatedAt + BigInt(STALENESS.bnb) + 1n);
      await expect(f.escrow.connect(f.customer).payNative(b.intent, b.signature, ethers.ZeroAddress, { value: ethers.parseEther("1") }))
        .to.be.revertedWithCustomError(f.escrow, "StalePrice")
        .withArgs(await f.bnbFeed.getAddress(), updatedAt, 1n, STALENESS.bnb);
    });

    for (const answer of [0n, -1n, -PRICE("1")]) {
      it(`rejects a feed answer of ${answer} with PriceNotPositive(feed, answer), in pay and quoteUsd`, async function () {
        const f = await loadFixture(deployEscrow);
        const usdt = await f.usdt.getAddress();
        await f.usdtFeed.updateAnswer(answer);
        const { intent, signature } = await f.signed();

        await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress))
          .to.be.revertedWithCustomError(f.escrow, "PriceNotPositive")
          .withArgs(await f.usdtFeed.getAddress(), answer);
        await expect(f.escrow.quoteUsd(usdt, TOKENS("1")))
          .to.be.revertedWithCustomError(f.escrow, "PriceNotPositive")
          .withArgs(await f.usdtFeed.getAddress(), answer);
      });
    }

    it("rejects a BNB feed answering zero with PriceNotPositive", async function () {
      const f = await loadFixture(deployEscrow);
      await f.bnbFeed.updateAnswer(0n);
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: 1n }))
        .to.be.revertedWithCustomError(f.escrow, "PriceNotPositive")
        .withArgs(await f.bnbFeed.getAddress(), 0n);
    });

    it("rejects a future-dated answer with PriceFromFuture(feed, updatedAt, timestamp) and accepts it once its time comes", async function () {
      const f = await longLived();
      const usdt = await f.usdt.getAddress();
      const { intent, signature } = await f.longSigned();
      // Times are taken from the chain right here: the chain's clock follows the wall clock, which a slow
      // run (coverage) moves on between the fixture and this point.
      // Gaps of minutes, so that even an instrumented run cannot overtake them.
      const now = BigInt(await time.latest());
      const updatedAt = now + 10_000n;
      await f.usdtFeed.updateRoundData(2, PRICE("1"), updatedAt, updatedAt);

      await atNextBlock(now + 600n);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "PriceFromFuture")
        .withArgs(await f.usdtFeed.getAddress(), updatedAt, now + 600n);

      await atNextBlock(updatedAt - 1n);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "PriceFromFuture")
        .withArgs(await f.usdtFeed.getAddress(), updatedAt, updatedAt - 1n);

      await atNextBlock(updatedAt);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress)).to.emit(f.escrow, "PaymentCompleted");
    });

    it("quoteUsd rejects a token that has no feed with TokenNotAllowed(token)", async function () {
      const f = await loadFixture(deployEscrow);
      const stranger = await deployToken(18);
      await expect(f.escrow.quoteUsd(await stranger.getAddress(), 1n))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(await stranger.getAddress());
    });
  });

  describe("valuation", function () {
    it("values a depegged USDT at its feed ($0.95): 100 USDT pay 95 USD and the 100 USD payment stays open", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      await f.usdtFeed.updateAnswer(PRICE("0.95"));
      const { intent, signature } = await f.signed();

      const tx = await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("100"), ethers.ZeroAddress);
      await expect(tx)
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("100"), USD("95"), USD("95"), USD("5"));
      await expect(tx).not.to.emit(f.escrow, "PaymentCompleted");
      await expectPayment(f.escrow, intent.paymentId, {
        status: Status.Open,
        tokenIndex: INDEX.usdt,
        amount: TOKENS("100"),
        receivedUsd: USD("95"),
      });
      expect(await f.escrow.remainingUsd(intent)).to.equal(USD("5"));
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(0n);
      expect(await f.escrow.depositOf(intent.paymentId, usdt, f.customer.address)).to.equal(TOKENS("100"));

      // 4 USDT more (3.80 USD) leaves it 1.20 USD short, beyond the 1 % tolerance.
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("4"), ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("4"), USD("3.8"), USD("98.8"), USD("1.2"));
      // 1 USDT more (0.95 USD) reaches 99.75 USD: within the tolerance.
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("1"), ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("1"), USD("0.95"), USD("99.75"), 0n, 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("105"));
    });

    it("normalises a 6-decimal token with an 18-decimal feed: 100.000000 units at $0.999999999999999999", async function () {
      const f = await loadFixture(deployEscrow);
      const token = await deployToken(6, "USD6");
      const feed = await deployFeed(18, 10n ** 18n - 1n);
      await listToken(f, token, feed, { mint: 1_000n * 10n ** 6n });
      const tokenAddress = await token.getAddress();
      const config = await f.escrow.tokenConfigOf(tokenAddress);
      expect([config.decimals, config.feedDecimals, config.index, config.feed]).to.deep.equal([6n, 18n, 4n, await feed.getAddress()]);

      expect(await f.escrow.quoteUsd(tokenAddress, 1n)).to.equal(999_999_999_999n);
      const { intent, signature } = await f.signed();
      const amount = 100n * 10n ** 6n;
      await expect(f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, amount, ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(
          intent.paymentId,
          f.merchant.address,
          f.customer.address,
          tokenAddress,
          amount,
          99_999_999_999_999_999_900n,
          99_999_999_999_999_999_900n,
          0n,
          0n,
        );
      await expectPayment(f.escrow, intent.paymentId, {
        status: Status.Completed,
        tokenIndex: 4n,
        amount,
        receivedUsd: 99_999_999_999_999_999_900n,
      });
      expect(await f.escrow.balanceOf(f.merchant.address, tokenAddress)).to.equal(amount);
    });

    const cases: Array<[tokenDecimals: number, feedDecimals: number, price: bigint, amount: bigint, usd: bigint]> = [
      [6, 8, 10n ** 8n, 1n, 10n ** 12n],
      [6, 8, 99_987_654n, 123_456_789n, 123_441_547_024_830_060_000n],
      [0, 8, 600n * 10n ** 8n, 1n, 600n * 10n ** 18n],
      [18, 18, 10n ** 18n, 1n, 1n],
      [36, 8, 10n ** 8n, 10n ** 36n, 10n ** 18n],
      [36, 8, 10n ** 8n, 10n ** 18n - 1n, 0n],
    ];
    for (const [tokenDecimals, feedDecimals, price, amount, usd] of cases) {
      it(`values ${amount} units of a ${tokenDecimals}-decimal token with a ${feedDecimals}-decimal feed at ${price} as ${usd} USD wei`, async function () {
        const f = await loadFixture(deployEscrow);
        const token = await deployToken(tokenDecimals);
        const feed = await deployFeed(feedDecimals, price);
        await listToken(f, token, feed);
        expect(usdValue(amount, price, tokenDecimals, feedDecimals)).to.equal(usd);
        expect(await f.escrow.quoteUsd(await token.getAddress(), amount)).to.equal(usd);
      });
    }
  });

  describe("tolerance", function () {
    async function payAndStatus(amountUsd: bigint, paid: bigint) {
      const f = await loadFixture(deployEscrow);
      return { f, ...(await payWith(f, amountUsd, paid)) };
    }
    async function payWith(f: Awaited<ReturnType<typeof deployEscrow>>, amountUsd: bigint, paid: bigint) {
      const { intent, signature } = await f.signed({ amountUsd });
      await f.escrow.connect(f.customer).pay(intent, signature, await f.usdt.getAddress(), paid, ethers.ZeroAddress);
      const p = await f.escrow.paymentOf(intent.paymentId);
      return { intent, signature, status: p.status, receivedUsd: p.receivedUsd };
    }

    it("completes a 100 USD payment on exactly 99 USD received (1 % default tolerance), with no excess", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      expect((await f.escrow.tokenConfigOf(usdt)).toleranceBps).to.equal(100n);
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("99"), ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("99"), USD("99"), USD("99"), 0n, 0n);
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(TOKENS("99"));
    });

    it("keeps a 100 USD payment open on 99 USD less one wei, and one more wei completes it", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("99") - 1n, ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("99") - 1n, USD("99") - 1n, USD("99") - 1n, USD("1") + 1n);
      expect((await f.escrow.paymentOf(intent.paymentId)).status).to.equal(Status.Open);
      expect(await f.escrow.remainingUsd(intent)).to.equal(USD("1") + 1n);

      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, 1n, ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, 1n, 1n, USD("99"), 0n, 0n);
    });

    it("does not round the threshold down: 1 USD + 1 wei needs 0.990000000000000001 USD (0.99 × amount rounded up)", async function () {
      const { f, status: below } = await payAndStatus(USD("1") + 1n, 990_000_000_000_000_000n);
      expect(below).to.equal(Status.Open);
      const { status: at } = await payWith(f, USD("1") + 1n, 990_000_000_000_000_001n);
      expect(at).to.equal(Status.Completed);
    });

    it("with tolerance 0 requires the full amount: 100 USD - 1 wei stays open, 100 USD completes", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      await expect(f.escrow.setTolerance(usdt, 0)).to.emit(f.escrow, "ToleranceUpdated").withArgs(usdt, 100n, 0n);
      const below = await payWith(f, USD("100"), TOKENS("100") - 1n);
      expect(below.status).to.equal(Status.Open);
      expect(await f.escrow.remainingUsd(below.intent)).to.equal(1n);
      const at = await payWith(f, USD("100"), TOKENS("100"));
      expect(at.status).to.equal(Status.Completed);
    });

    it("with tolerance MAX_TOLERANCE_BPS (5 %) completes on 95 USD and stays open on 95 USD - 1 wei; above the cap reverts", async function () {
      const f = await loadFixture(deployEscrow);
      const max = await f.escrow.MAX_TOLERANCE_BPS();
      expect(max).to.equal(500n);
      await f.escrow.setTolerance(f.usdt, max);
      expect((await f.escrow.tokenConfigOf(f.usdt)).toleranceBps).to.equal(500n);
      const below = await payWith(f, USD("100"), TOKENS("95") - 1n);
      expect(below.status).to.equal(Status.Open);
      expect(await f.escrow.remainingUsd(below.intent)).to.equal(USD("5") + 1n);
      const at = await payWith(f, USD("100"), TOKENS("95"));
      expect(at.status).to.equal(Status.Completed);
      expect(await f.escrow.balanceOf(f.merchant.address, await f.usdt.getAddress())).to.equal(TOKENS("95"));

      await expect(f.escrow.setTolerance(f.usdt, max + 1n))
        .to.be.revertedWithCustomError(f.escrow, "ToleranceTooHigh")
        .withArgs(501n, 500n);
    });

    it("applies the tolerance in force at the completing deposit to a payment opened earlier", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      const { intent, signature } = await f.signed();
      await f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("94"), ethers.ZeroAddress);
      await f.escrow.setTolerance(usdt, 500);
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, TOKENS("1"), ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, TOKENS("1"), USD("1"), USD("95"), 0n, 0n);
    });
  });

  describe("rounding", function () {
    it("values 1 wei of USDT at $1 as 1 USD wei", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      expect(await f.escrow.quoteUsd(usdt, 1n)).to.equal(1n);
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, 1n, ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, 1n, 1n, 1n, USD("100") - 1n);
    });

    it("rounds 1 wei of USDT at $0.99999999 down to 0 USD (never in the payer's favour)", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      await f.usdtFeed.updateAnswer(99_999_999n);
      expect(await f.escrow.quoteUsd(usdt, 1n)).to.equal(0n);
      expect(await f.escrow.quoteUsd(usdt, 2n)).to.equal(1n);
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, 1n, ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, 1n, 0n, 0n, USD("100"));
      expect(await f.escrow.remainingUsd(intent)).to.equal(USD("100"));
    });

    it("values 1 wei of BNB at $600.12345678 as 600 USD wei (fraction dropped)", async function () {
      const f = await loadFixture(deployEscrow);
      await f.bnbFeed.updateAnswer(60_012_345_678n);
      expect(await f.escrow.quoteUsd(NATIVE, 1n)).to.equal(600n);
      const { intent, signature } = await f.signed();
      await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: 1n }))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, NATIVE, 1n, 600n, 600n, USD("100") - 600n);
    });

    it("values 10^30 wei of USDT at $0.99987654 exactly and completes a 10^12 USD payment with it", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      await f.usdtFeed.updateAnswer(99_987_654n);
      const amount = 10n ** 30n;
      const expected = 999_876_540_000_000_000_000_000_000_000n;
      expect(await f.escrow.quoteUsd(usdt, amount)).to.equal(expected);
      expect(await f.escrow.quoteUsd(usdt, amount + 1n)).to.equal(expected);
      await f.usdt.mint(f.customer.address, amount);
      const { intent, signature } = await f.signed({ amountUsd: 10n ** 30n });

      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, amount, ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, amount, expected, expected, 0n, 0n);
      await expectPayment(f.escrow, intent.paymentId, {
        status: Status.Completed,
        tokenIndex: INDEX.usdt,
        amount,
        receivedUsd: expected,
      });
      expect(await f.escrow.balanceOf(f.merchant.address, usdt)).to.equal(amount);
    });

    it("quotes 10^30 wei of BNB at $600.12345678 exactly, and rejects depositing it because its USD value exceeds uint104", async function () {
      const f = await loadFixture(deployEscrow);
      await f.bnbFeed.updateAnswer(60_012_345_678n);
      const amount = 10n ** 30n;
      const expected = 600_123_456_780_000_000_000_000_000_000_000n;
      expect(await f.escrow.quoteUsd(NATIVE, amount)).to.equal(expected);
      expect(expected > U104_MAX).to.equal(true);
      await setBalance(f.customer.address, amount * 2n);
      const { intent, signature } = await f.signed({ amountUsd: U104_MAX });

      await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: amount }))
        .to.be.revertedWithCustomError(f.escrow, "AmountTooLarge")
        .withArgs(expected, U104_MAX);
    });
  });

  describe("quoteUsd", function () {
    it("matches the value a USDT deposit is recorded at", async function () {
      const f = await loadFixture(deployEscrow);
      const usdt = await f.usdt.getAddress();
      await f.usdtFeed.updateAnswer(99_987_654n);
      const amount = 12_345_678_901_234_567_891n;
      const quote = await f.escrow.quoteUsd(usdt, amount);
      expect(quote).to.equal(12_344_154_703_717_421_471n);
      const { intent, signature } = await f.signed();

      await expect(f.escrow.connect(f.customer).pay(intent, signature, usdt, amount, ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, usdt, amount, quote, quote, USD("100") - quote);
      expect((await f.escrow.paymentOf(intent.paymentId)).receivedUsd).to.equal(quote);
    });

    it("matches the value a BNB deposit is recorded at", async function () {
      const f = await loadFixture(deployEscrow);
      await f.bnbFeed.updateAnswer(60_012_345_678n);
      const amount = 123_456_789_012_345_678n;
      const quote = await f.escrow.quoteUsd(NATIVE, amount);
      expect(quote).to.equal(74_089_314_985_048_010_377n);
      const { intent, signature } = await f.signed();

      await expect(f.escrow.connect(f.customer).payNative(intent, signature, ethers.ZeroAddress, { value: amount }))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, NATIVE, amount, quote, quote, USD("100") - quote);
    });

    it("matches the value a deposit of a 6-decimal token with an 8-decimal feed is recorded at", async function () {
      const f = await loadFixture(deployEscrow);
      const token = await deployToken(6, "USD6");
      const feed = await deployFeed(8, 99_987_654n);
      await listToken(f, token, feed, { mint: 1_000n * 10n ** 6n });
      const tokenAddress = await token.getAddress();
      const amount = 123_456_789n;
      const quote = await f.escrow.quoteUsd(tokenAddress, amount);
      expect(quote).to.equal(123_441_547_024_830_060_000n);
      const { intent, signature } = await f.signed({ amountUsd: USD("200") });

      await expect(f.escrow.connect(f.customer).pay(intent, signature, tokenAddress, amount, ethers.ZeroAddress))
        .to.emit(f.escrow, "PaymentDeposited")
        .withArgs(intent.paymentId, f.merchant.address, f.customer.address, tokenAddress, amount, quote, quote, USD("200") - quote);
    });
  });
});
