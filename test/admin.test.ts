import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { MockV3Aggregator, IOpenPayEscrow, TestToken } from "../typechain-types";
import { deployEscrow, FEED_DECIMALS, NATIVE, PRICE, STALENESS, TOKENS, USD } from "./support/fixture";
import {
  BNB,
  DEFAULT_ADMIN_ROLE,
  deployBlacklistToken,
  OPERATOR_ROLE,
  PAUSER_ROLE,
  payBnb,
  payToken,
  SIGNER_MANAGER_ROLE,
  Status,
  transferAdmin,
} from "./support/scenarios";

const MAX_STALENESS_CAP = 2n * 86_400n;

describe("admin", function () {
  async function fixture() {
    const f = await deployEscrow();
    const signers = await ethers.getSigners();
    const Token = await ethers.getContractFactory("TestToken");
    const Feed = await ethers.getContractFactory("MockV3Aggregator");
    const dai = (await Token.deploy("Dai", "DAI", 18)) as unknown as TestToken;
    const daiFeed = (await Feed.deploy(FEED_DECIMALS, PRICE("1"))) as unknown as MockV3Aggregator;
    const altFeed = (await Feed.deploy(18, ethers.parseUnits("1", 18))) as unknown as MockV3Aggregator;
    return { ...f, Token, Feed, dai, daiFeed, altFeed, stranger: signers[9] };
  }
  type Fixture = Awaited<ReturnType<typeof fixture>>;

  async function tokenConfig(escrow: IOpenPayEscrow, token: string) {
    const c = await escrow.tokenConfigOf(token);
    return {
      feed: c.feed,
      maxStaleness: c.maxStaleness,
      decimals: c.decimals,
      feedDecimals: c.feedDecimals,
      index: c.index,
      maxTtlHours: c.maxTtlHours,
    };
  }

  describe("constructor", function () {
    it('reverts with ZeroAddress("admin") for a zero admin', async function () {
      const Escrow = await ethers.getContractFactory("OpenPayEscrow");
      const [, , , , , , , , treasury] = await ethers.getSigners();
      await expect(Escrow.deploy(ethers.ZeroAddress, treasury.address)).to.be.revertedWithCustomError(Escrow, "ZeroAddress").withArgs("admin");
    });

    it('reverts with EscrowAsReceiver("treasury") for a treasury at the escrow\'s own address', async function () {
      const Escrow = await ethers.getContractFactory("OpenPayEscrow");
      const [deployer] = await ethers.getSigners();
      const own = ethers.getCreateAddress({ from: deployer.address, nonce: await ethers.provider.getTransactionCount(deployer.address) });
      await expect(Escrow.connect(deployer).deploy(deployer.address, own)).to.be.revertedWithCustomError(Escrow, "EscrowAsReceiver").withArgs("treasury");
    });

    it("grants only the admin role and starts with the default settings", async function () {
      const f = await loadFixture(fixture);
      const Escrow = await ethers.getContractFactory("OpenPayEscrow");
      const deployed = await Escrow.deploy(f.admin.address, f.treasury.address);
      await expect(deployed.deploymentTransaction()).to.emit(deployed, "TreasuryUpdated").withArgs(f.treasury.address);
      const escrow = await ethers.getContractAt("IOpenPayEscrow", await deployed.getAddress());
      expect(await escrow.hasRole(DEFAULT_ADMIN_ROLE, f.admin.address)).to.equal(true);
      expect(await escrow.hasRole(SIGNER_MANAGER_ROLE, f.admin.address)).to.equal(false);
      expect(await escrow.hasRole(PAUSER_ROLE, f.admin.address)).to.equal(false);
      const s = await escrow.settings();
      expect([s.feeBps, s.paused, s.treasury]).to.deep.equal([0n, false, f.treasury.address]);
    });
  });

  describe("setToken", function () {
    it("allows a new token at the next index with TokenConfigured, readable with tokenAt and tokenConfigOf", async function () {
      const f = await loadFixture(fixture);
      const dai = await f.dai.getAddress();
      const feed = await f.daiFeed.getAddress();
      await expect(f.escrow.connect(f.admin).setToken(dai, feed, 7_200))
        .to.emit(f.escrow, "TokenConfigured")
        .withArgs(dai, feed, 7_200n, 4n);
      expect(await f.escrow.tokenAt(4)).to.equal(dai);
      expect(await tokenConfig(f.escrow, dai)).to.deep.equal({
        feed,
        maxStaleness: 7_200n,
        decimals: 18n,
        feedDecimals: 8n,
        index: 4n,
        maxTtlHours: 24n,
      });
      // It is accepted for payments.
      await f.dai.mint(f.customer.address, TOKENS("100"));
      await f.dai.connect(f.customer).approve(f.escrow, TOKENS("100"));
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, dai, TOKENS("100"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).tokenIndex).to.equal(4n);
    });

    it("maps the fixture's tokens to indexes 1-3 and unused indexes to the zero address", async function () {
      const f = await loadFixture(fixture);
      expect(await f.escrow.tokenAt(0)).to.equal(ethers.ZeroAddress);
      expect(await f.escrow.tokenAt(1)).to.equal(await f.usdt.getAddress());
      expect(await f.escrow.tokenAt(2)).to.equal(await f.usdc.getAddress());
      expect(await f.escrow.tokenAt(3)).to.equal(NATIVE); // BNB
      expect((await f.escrow.tokenConfigOf(NATIVE)).index).to.equal(3n);
      expect(await f.escrow.tokenAt(4)).to.equal(ethers.ZeroAddress);
      expect(await f.escrow.tokenAt(255)).to.equal(ethers.ZeroAddress);
    });

    it("keeps a token's index when it is reconfigured, and does not use up a new index", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      const altFeed = await f.altFeed.getAddress();
      await expect(f.escrow.connect(f.admin).setToken(usdt, altFeed, 600))
        .to.emit(f.escrow, "TokenConfigured")
        .withArgs(usdt, altFeed, 600n, 1n);
      expect(await tokenConfig(f.escrow, usdt)).to.deep.equal({
        feed: altFeed,
        maxStaleness: 600n,
        decimals: 18n,
        feedDecimals: 18n,
        index: 1n,
        maxTtlHours: 24n,
      });
      expect(await f.escrow.tokenAt(1)).to.equal(usdt);

      const bnbFeed = await f.bnbFeed.getAddress();
      await expect(f.escrow.connect(f.admin).setToken(NATIVE, bnbFeed, 60))
        .to.emit(f.escrow, "TokenConfigured")
        .withArgs(NATIVE, bnbFeed, 60n, 3n);

      await expect(f.escrow.connect(f.admin).setToken(f.dai, f.daiFeed, 60))
        .to.emit(f.escrow, "TokenConfigured")
        .withArgs(await f.dai.getAddress(), await f.daiFeed.getAddress(), 60n, 4n);
    });

    it('reverts with ZeroAddress("feed") for a zero feed', async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.admin).setToken(f.dai, ethers.ZeroAddress, 3_600))
        .to.be.revertedWithCustomError(f.escrow, "ZeroAddress")
        .withArgs("feed");
    });

    it("reverts with InvalidStaleness for a zero staleness or one above MAX_STALENESS_CAP, and accepts the cap", async function () {
      const f = await loadFixture(fixture);
      expect(await f.escrow.MAX_STALENESS_CAP()).to.equal(MAX_STALENESS_CAP);
      await expect(f.escrow.connect(f.admin).setToken(f.dai, f.daiFeed, 0))
        .to.be.revertedWithCustomError(f.escrow, "InvalidStaleness")
        .withArgs(0n, MAX_STALENESS_CAP);
      await expect(f.escrow.connect(f.admin).setToken(f.dai, f.daiFeed, MAX_STALENESS_CAP + 1n))
        .to.be.revertedWithCustomError(f.escrow, "InvalidStaleness")
        .withArgs(MAX_STALENESS_CAP + 1n, MAX_STALENESS_CAP);
      await expect(f.escrow.connect(f.admin).setToken(f.usdt, f.usdtFeed, 2n ** 32n - 1n))
        .to.be.revertedWithCustomError(f.escrow, "InvalidStaleness")
        .withArgs(2n ** 32n - 1n, MAX_STALENESS_CAP);
      expect((await f.escrow.tokenConfigOf(f.usdt)).maxStaleness).to.equal(BigInt(STALENESS.stable));

      await expect(f.escrow.connect(f.admin).setToken(f.dai, f.daiFeed, MAX_STALENESS_CAP))
        .to.emit(f.escrow, "TokenConfigured")
        .withArgs(await f.dai.getAddress(), await f.daiFeed.getAddress(), MAX_STALENESS_CAP, 4n);
      await expect(f.escrow.connect(f.admin).setToken(f.dai, f.daiFeed, 1)).to.emit(f.escrow, "TokenConfigured");
    });

    it("reverts with UnsupportedDecimals for a token with more than 36 decimals, and accepts 36", async function () {
      const f = await loadFixture(fixture);
      const wide = await f.Token.deploy("Wide", "W37", 37);
      await expect(f.escrow.connect(f.admin).setToken(wide, f.daiFeed, 3_600))
        .to.be.revertedWithCustomError(f.escrow, "UnsupportedDecimals")
        .withArgs(await wide.getAddress(), 37n);
      const max = await f.Token.deploy("Max", "W36", 36);
      await expect(f.escrow.connect(f.admin).setToken(max, f.daiFeed, 3_600))
        .to.emit(f.escrow, "TokenConfigured")
        .withArgs(await max.getAddress(), await f.daiFeed.getAddress(), 3_600n, 4n);
      expect((await f.escrow.tokenConfigOf(max)).decimals).to.equal(36n);
      // The failed token took no index.
      expect((await f.escrow.tokenConfigOf(wide)).index).to.equal(0n);
    });

    it("reverts with UnsupportedDecimals for a feed with more than 36 decimals", async function () {
      const f = await loadFixture(fixture);
      const feed = await f.Feed.deploy(37, 10n ** 37n);
      await expect(f.escrow.connect(f.admin).setToken(f.dai, feed, 3_600))
        .to.be.revertedWithCustomError(f.escrow, "UnsupportedDecimals")
        .withArgs(await feed.getAddress(), 37n);
    });

    it("reverts with TooManyTokens once 255 indexes are used", async function () {
      const f = await loadFixture(fixture);
      const code = await ethers.provider.getCode(f.dai);
      // Tokens 1-3 exist; fill indexes 4-255 with copies of an 18-decimal token's code.
      for (let i = 4; i <= 255; i++) {
        const token = ethers.getAddress(ethers.toBeHex(0x7000_0000n + BigInt(i), 20));
        await network.provider.send("hardhat_setCode", [token, code]);
        await f.escrow.connect(f.admin).setToken(token, f.daiFeed, 3_600);
      }
      expect(await f.escrow.tokenAt(255)).to.equal(ethers.getAddress(ethers.toBeHex(0x7000_0000n + 255n, 20)));
      await expect(f.escrow.connect(f.admin).setToken(f.dai, f.daiFeed, 3_600)).to.be.revertedWithCustomError(f.escrow, "TooManyTokens");
      // Existing tokens can still be reconfigured.
      await expect(f.escrow.connect(f.admin).setToken(f.usdt, f.daiFeed, 3_600))
        .to.emit(f.escrow, "TokenConfigured")
        .withArgs(await f.usdt.getAddress(), await f.daiFeed.getAddress(), 3_600n, 1n);
    });
  });

  describe("disallowToken", function () {
    it("stops new deposits in the token by zeroing its feed, keeping its index and the rest, with TokenDisallowed", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      await expect(f.escrow.connect(f.admin).disallowToken(usdt)).to.emit(f.escrow, "TokenDisallowed").withArgs(usdt);
      expect(await tokenConfig(f.escrow, usdt)).to.deep.equal({
        feed: ethers.ZeroAddress,
        maxStaleness: BigInt(STALENESS.stable),
        decimals: 18n,
        feedDecimals: 8n,
        index: 1n,
        maxTtlHours: 24n,
      });
      await expect(f.escrow.quoteUsd(usdt, 1n)).to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed").withArgs(usdt);
      expect(await f.escrow.tokenAt(1)).to.equal(usdt);
      await expect(payToken(f.escrow, f.customer, await f.signed(), usdt, TOKENS("100")))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(usdt);
      // Other tokens are unaffected.
      await payToken(f.escrow, f.customer, await f.signed(), f.usdc, TOKENS("100"));
    });

    it("stops BNB deposits when BNB is disallowed", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).disallowToken(NATIVE);
      await expect(payBnb(f.escrow, f.customer, await f.signed(), BNB("1")))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(NATIVE);
    });

    it("refuses top-ups of an open payment in a disallowed token, and remainingUsd says why it cannot value it", async function () {
      const f = await loadFixture(fixture);
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("40"));
      expect(await f.escrow.remainingUsd(s.intent)).to.equal(USD("60"));
      await f.escrow.connect(f.admin).disallowToken(f.usdt);
      await expect(payToken(f.escrow, f.customer, s, f.usdt, TOKENS("60")))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(await f.usdt.getAddress());
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Open);
      // Its token has no feed any more: named, not a failed call to address zero.
      await expect(f.escrow.remainingUsd(s.intent))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(await f.usdt.getAddress());
    });

    it("reverts with TokenNotAllowed when disallowing twice or a token never configured", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      await f.escrow.connect(f.admin).disallowToken(usdt);
      await expect(f.escrow.connect(f.admin).disallowToken(usdt)).to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed").withArgs(usdt);
      const dai = await f.dai.getAddress();
      await expect(f.escrow.connect(f.admin).disallowToken(dai)).to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed").withArgs(dai);
    });

    it("re-allows a disallowed token at its old index with setToken", async function () {
      const f = await loadFixture(fixture);
      const usdc = await f.usdc.getAddress();
      await f.escrow.connect(f.admin).disallowToken(usdc);
      await expect(f.escrow.connect(f.admin).setToken(usdc, f.usdcFeed, 3_600))
        .to.emit(f.escrow, "TokenConfigured")
        .withArgs(usdc, await f.usdcFeed.getAddress(), 3_600n, 2n);
      expect((await f.escrow.tokenConfigOf(usdc)).feed).to.equal(await f.usdcFeed.getAddress());
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, usdc, TOKENS("100"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).tokenIndex).to.equal(2n);
    });
  });

  describe("setTolerance", function () {
    it("sets one token's tolerance up to MAX_TOLERANCE_BPS with ToleranceUpdated, the others' unchanged", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      expect(await f.escrow.MAX_TOLERANCE_BPS()).to.equal(500n);
      await expect(f.escrow.connect(f.admin).setTolerance(usdt, 500)).to.emit(f.escrow, "ToleranceUpdated").withArgs(usdt, 100n, 500n);
      expect((await f.escrow.tokenConfigOf(usdt)).toleranceBps).to.equal(500n);
      await expect(f.escrow.connect(f.admin).setTolerance(usdt, 0)).to.emit(f.escrow, "ToleranceUpdated").withArgs(usdt, 500n, 0n);
      expect((await f.escrow.tokenConfigOf(usdt)).toleranceBps).to.equal(0n);
      expect((await f.escrow.tokenConfigOf(f.usdc)).toleranceBps).to.equal(100n);
      expect((await f.escrow.tokenConfigOf(NATIVE)).toleranceBps).to.equal(100n);

      // With no tolerance, $99.99 of USDT leaves a $100 payment open; in USDC, at 1%, it completes.
      const s = await f.signed();
      await payToken(f.escrow, f.customer, s, f.usdt, TOKENS("99.99"));
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Open);
      const inUsdc = await f.signed();
      await payToken(f.escrow, f.customer, inUsdc, f.usdc, TOKENS("99.99"));
      expect((await f.escrow.paymentOf(inUsdc.intent.paymentId)).status).to.equal(Status.Completed);
    });

    it("reverts with ToleranceTooHigh above MAX_TOLERANCE_BPS, and TokenNotAllowed for a token never configured", async function () {
      const f = await loadFixture(fixture);
      const usdt = await f.usdt.getAddress();
      await expect(f.escrow.connect(f.admin).setTolerance(usdt, 501)).to.be.revertedWithCustomError(f.escrow, "ToleranceTooHigh").withArgs(501n, 500n);
      await expect(f.escrow.connect(f.admin).setTolerance(usdt, 10_000)).to.be.revertedWithCustomError(f.escrow, "ToleranceTooHigh").withArgs(10_000n, 500n);
      await expect(f.escrow.connect(f.admin).setTolerance(f.dai, 10))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(await f.dai.getAddress());
      expect((await f.escrow.tokenConfigOf(usdt)).toleranceBps).to.equal(100n);
    });

    it("gives a new token DEFAULT_TOLERANCE_BPS, and keeps a token's own tolerance when its feed is configured again or it is disallowed", async function () {
      const f = await loadFixture(fixture);
      const dai = await f.dai.getAddress();
      await f.escrow.connect(f.admin).setToken(dai, f.daiFeed, STALENESS.stable);
      expect((await f.escrow.tokenConfigOf(dai)).toleranceBps).to.equal(await f.escrow.DEFAULT_TOLERANCE_BPS());
      await f.escrow.connect(f.admin).setTolerance(dai, 10);
      await f.escrow.connect(f.admin).setToken(dai, f.altFeed, 60);
      expect((await f.escrow.tokenConfigOf(dai)).toleranceBps).to.equal(10n);
      await f.escrow.connect(f.admin).disallowToken(dai);
      await f.escrow.connect(f.admin).setToken(dai, f.daiFeed, STALENESS.stable);
      expect((await f.escrow.tokenConfigOf(dai)).toleranceBps).to.equal(10n);
    });

    it("applies to BNB as to any token", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).setTolerance(NATIVE, 500);
      // $96 of BNB (0.16 at $600) completes a $100 payment at a 5% tolerance; at 1% it would stay open.
      const s = await f.signed();
      await expect(payBnb(f.escrow, f.customer, s, ethers.parseEther("0.16"))).to.emit(f.escrow, "PaymentCompleted");
      expect((await f.escrow.paymentOf(s.intent.paymentId)).status).to.equal(Status.Completed);
    });
  });

  describe("settings copied into each token", function () {
    async function copies(f: Fixture, tokens: string[]) {
      return Promise.all(
        tokens.map(async (token) => {
          const c = await f.escrow.tokenConfigOf(token);
          return [c.feeBps, c.paused, c.maxTtlHours];
        }),
      );
    }

    it("keeps every token's copy of fee, pause and time-to-live limit equal to the global settings, new tokens included", async function () {
      const f = await loadFixture(fixture);
      const tokens = [await f.usdt.getAddress(), await f.usdc.getAddress(), NATIVE];
      expect(await copies(f, tokens)).to.deep.equal(tokens.map(() => [0n, false, 24n]));

      await f.escrow.connect(f.admin).setFee(30);
      await f.escrow.connect(f.pauser).pause();
      await f.escrow.connect(f.admin).setMaxTtl(72);
      expect(await copies(f, tokens)).to.deep.equal(tokens.map(() => [30n, true, 72n]));

      // A token allowed now starts with the settings in force, paused included.
      await f.escrow.connect(f.admin).setToken(f.dai, f.daiFeed, STALENESS.stable);
      const all = [...tokens, await f.dai.getAddress()];
      expect(await copies(f, all)).to.deep.equal(all.map(() => [30n, true, 72n]));

      await f.escrow.connect(f.pauser).unpause();
      await f.escrow.connect(f.admin).setMaxTtl(2);
      expect(await copies(f, all)).to.deep.equal(all.map(() => [30n, false, 2n]));
      const s = await f.escrow.settings();
      expect([s.feeBps, s.paused, s.maxTtlHours]).to.deep.equal([30n, false, 2n]);
    });
  });

  describe("setMaxTtl", function () {
    it("starts at DEFAULT_MAX_TTL_HOURS (24) under a cap of MAX_TTL_CAP_HOURS (168, 7 days)", async function () {
      const f = await loadFixture(fixture);
      expect(await f.escrow.DEFAULT_MAX_TTL_HOURS()).to.equal(24n);
      expect(await f.escrow.MAX_TTL_CAP_HOURS()).to.equal(168n);
      expect((await f.escrow.settings()).maxTtlHours).to.equal(24n);
    });

    it("sets the limit from 1 to 168 hours with MaxTtlUpdated(previous, new)", async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.admin).setMaxTtl(168)).to.emit(f.escrow, "MaxTtlUpdated").withArgs(24n, 168n);
      expect((await f.escrow.settings()).maxTtlHours).to.equal(168n);
      await expect(f.escrow.connect(f.admin).setMaxTtl(1)).to.emit(f.escrow, "MaxTtlUpdated").withArgs(168n, 1n);
      expect((await f.escrow.settings()).maxTtlHours).to.equal(1n);
      expect((await f.escrow.tokenConfigOf(f.usdt)).maxTtlHours).to.equal(1n);
    });

    for (const hours of [0, 169, 255]) {
      it(`reverts InvalidMaxTtl(${hours}, 168) for ${hours} hours`, async function () {
        const f = await loadFixture(fixture);
        await expect(f.escrow.connect(f.admin).setMaxTtl(hours)).to.be.revertedWithCustomError(f.escrow, "InvalidMaxTtl").withArgs(hours, 168n);
        expect((await f.escrow.settings()).maxTtlHours).to.equal(24n);
      });
    }
  });

  describe("setTreasury", function () {
    it("sets the treasury with TreasuryUpdated", async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.admin).setTreasury(f.stranger.address)).to.emit(f.escrow, "TreasuryUpdated").withArgs(f.stranger.address);
      expect((await f.escrow.settings()).treasury).to.equal(f.stranger.address);
    });

    it('reverts with ZeroAddress("treasury") for a zero treasury', async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.admin).setTreasury(ethers.ZeroAddress)).to.be.revertedWithCustomError(f.escrow, "ZeroAddress").withArgs("treasury");
      expect((await f.escrow.settings()).treasury).to.equal(f.treasury.address);
    });
  });

  describe("the admin role: two steps with a delay", function () {
    it("is never granted or revoked directly, not even by the admin", async function () {
      const f = await loadFixture(fixture);
      await expect(f.escrow.connect(f.admin).grantRole(DEFAULT_ADMIN_ROLE, f.stranger.address)).to.be.revertedWithCustomError(
        f.escrow,
        "AccessControlEnforcedDefaultAdminRules",
      );
      await expect(f.escrow.connect(f.admin).revokeRole(DEFAULT_ADMIN_ROLE, f.admin.address)).to.be.revertedWithCustomError(
        f.escrow,
        "AccessControlEnforcedDefaultAdminRules",
      );
      expect(await f.escrow.defaultAdmin()).to.equal(f.admin.address);
      expect(await f.escrow.defaultAdminDelay()).to.equal(await f.escrow.INITIAL_ADMIN_DELAY());
      expect(await f.escrow.INITIAL_ADMIN_DELAY()).to.equal(86_400n);
    });

    it("moves to the new admin only when it accepts after the delay; the old admin then configures nothing", async function () {
      const f = await loadFixture(fixture);
      const begun = await f.escrow.connect(f.admin).beginDefaultAdminTransfer(f.stranger.address);
      const schedule = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 86_400n;
      await expect(begun).to.emit(f.escrow, "DefaultAdminTransferScheduled").withArgs(f.stranger.address, schedule);
      expect(await f.escrow.pendingDefaultAdmin()).to.deep.equal([f.stranger.address, schedule]);

      await expect(f.escrow.connect(f.stranger).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(f.escrow, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      await time.increaseTo(schedule + 1n);
      await expect(f.escrow.connect(f.other).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(f.escrow, "AccessControlInvalidDefaultAdmin")
        .withArgs(f.other.address);
      // Until accepted, the old admin is still the admin.
      await f.escrow.connect(f.admin).setFee(10);

      await f.escrow.connect(f.stranger).acceptDefaultAdminTransfer();
      expect(await f.escrow.defaultAdmin()).to.equal(f.stranger.address);
      expect(await f.escrow.hasRole(DEFAULT_ADMIN_ROLE, f.admin.address)).to.equal(false);
      await expect(f.escrow.connect(f.admin).setFee(20))
        .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(f.admin.address, DEFAULT_ADMIN_ROLE);
      await f.escrow.connect(f.stranger).setFee(20);
      expect((await f.escrow.settings()).feeBps).to.equal(20n);
    });

    it("lets the admin cancel a transfer it began, and change the delay only after a wait", async function () {
      const f = await loadFixture(fixture);
      await f.escrow.connect(f.admin).beginDefaultAdminTransfer(f.stranger.address);
      await expect(f.escrow.connect(f.admin).cancelDefaultAdminTransfer()).to.emit(f.escrow, "DefaultAdminTransferCanceled");
      await time.increase(2n * 86_400n);
      await expect(f.escrow.connect(f.stranger).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(f.escrow, "AccessControlInvalidDefaultAdmin")
        .withArgs(f.stranger.address);

      // Shortening the delay to nothing takes effect only once the current delay has passed.
      await f.escrow.connect(f.admin).changeDefaultAdminDelay(0);
      expect(await f.escrow.defaultAdminDelay()).to.equal(86_400n);
      const [newDelay, effect] = await f.escrow.pendingDefaultAdminDelay();
      expect(newDelay).to.equal(0n);
      await time.increaseTo(effect + 1n);
      expect(await f.escrow.defaultAdminDelay()).to.equal(0n);
    });
  });

  describe("access", function () {
    const adminCalls: [string, (f: Fixture, caller: HardhatEthersSigner) => Promise<unknown>][] = [
      ["setToken", (f, c) => f.escrow.connect(c).setToken(f.dai, f.daiFeed, 3_600)],
      ["disallowToken", (f, c) => f.escrow.connect(c).disallowToken(f.usdt)],
      ["setTolerance", (f, c) => f.escrow.connect(c).setTolerance(f.usdt, 200)],
      ["setFee", (f, c) => f.escrow.connect(c).setFee(100)],
      ["setMaxTtl", (f, c) => f.escrow.connect(c).setMaxTtl(48)],
      ["setTreasury", (f, c) => f.escrow.connect(c).setTreasury(c.address)],
      ["rescue", (f, c) => f.escrow.connect(c).rescue(f.usdt, c.address, 1n)],
      ["grantRole", (f, c) => f.escrow.connect(c).grantRole(OPERATOR_ROLE, c.address)],
      ["revokeRole", (f, c) => f.escrow.connect(c).revokeRole(PAUSER_ROLE, f.pauser.address)],
    ];
    for (const [name, call] of adminCalls) {
      it(`refuses ${name} to every account without the admin role`, async function () {
        const f = await loadFixture(fixture);
        for (const caller of [f.signerManager, f.pauser, f.merchant, f.intentSigner, f.customer, f.treasury, f.stranger]) {
          await expect(call(f, caller))
            .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
            .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
        }
      });
    }

    it("lets the admin grant and revoke the operator roles", async function () {
      const f = await loadFixture(fixture);
      expect(await f.escrow.hasRole(SIGNER_MANAGER_ROLE, f.signerManager.address)).to.equal(true);
      expect(await f.escrow.hasRole(PAUSER_ROLE, f.pauser.address)).to.equal(true);
      await f.escrow.connect(f.admin).revokeRole(PAUSER_ROLE, f.pauser.address);
      await expect(f.escrow.connect(f.pauser).pause())
        .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(f.pauser.address, PAUSER_ROLE);
    });
  });

  describe("no role can move funds", function () {
    /**
     * Funds owed to others: the merchant's balance (100 USDT, 0.1 BNB), a customer's open deposit (30 USDC) and
     * a claimable refund (20 BUSD to a blacklisted customer, refunded from a 100 BUSD payment).
     */
    async function fundedFixture() {
      const f = await fixture();
      const bl = await deployBlacklistToken(f);
      const paid = await f.signed();
      await payToken(f.escrow, f.customer, paid, f.usdt, TOKENS("100"));
      await payBnb(f.escrow, f.customer, await f.signed({ amountUsd: USD("60") }), BNB("0.1"));
      const open = await f.signed();
      await payToken(f.escrow, f.customer, open, f.usdc, TOKENS("30"));
      const blPaid = await f.signed();
      await payToken(f.escrow, f.other, blPaid, bl, TOKENS("100"));
      await bl.setBlacklisted(f.other.address, true);
      await f.escrow.connect(f.merchant).refund(blPaid.intent.paymentId, f.other.address, TOKENS("20"));
      return { ...f, bl, paid, open, blPaid };
    }
    type Funded = Awaited<ReturnType<typeof fundedFixture>>;

    async function state(f: Funded, accounts: HardhatEthersSigner[]) {
      const tokens = [await f.usdt.getAddress(), await f.usdc.getAddress(), await f.bl.getAddress()];
      const out: Record<string, bigint> = {};
      for (const [i, t] of tokens.entries()) {
        const erc20 = [f.usdt, f.usdc, f.bl][i];
        out[`held:${t}`] = await erc20.balanceOf(f.escrow);
        for (const a of accounts) out[`wallet:${t}:${a.address}`] = await erc20.balanceOf(a.address);
      }
      out["held:BNB"] = await ethers.provider.getBalance(f.escrow);
      for (const t of [...tokens, NATIVE]) {
        const l = await f.escrow.ledgerOf(t);
        out[`owed:${t}`] = l.owed;
        out[`fees:${t}`] = l.fees;
        out[`merchant:${t}`] = await f.escrow.balanceOf(f.merchant.address, t);
        out[`claimable:${t}`] = await f.escrow.claimableOf(t, f.other.address);
      }
      out.deposit = await f.escrow.depositOf(f.open.intent.paymentId, f.usdc, f.customer.address);
      out.refunded = await f.escrow.refundedOf(f.paid.intent.paymentId);
      return out;
    }

    it("starts with the funds the fixture describes", async function () {
      const f = await loadFixture(fundedFixture);
      expect(await f.escrow.balanceOf(f.merchant.address, f.usdt)).to.equal(TOKENS("100"));
      expect(await f.escrow.balanceOf(f.merchant.address, NATIVE)).to.equal(BNB("0.1"));
      expect(await f.escrow.balanceOf(f.merchant.address, f.bl)).to.equal(TOKENS("80"));
      expect(await f.escrow.depositOf(f.open.intent.paymentId, f.usdc, f.customer.address)).to.equal(TOKENS("30"));
      expect(await f.escrow.claimableOf(f.bl, f.other.address)).to.equal(TOKENS("20"));
    });

    it("neither the admin, the signer manager nor the pauser can withdraw, claim, refund or rescue owed funds", async function () {
      const f = await loadFixture(fundedFixture);
      // One account holding every role as well, the admin role taken over in its two steps.
      const all = f.stranger;
      for (const role of [SIGNER_MANAGER_ROLE, PAUSER_ROLE]) {
        await f.escrow.connect(f.admin).grantRole(role, all.address);
      }
      await transferAdmin(f.escrow, f.admin, all);
      const operators = [f.admin, f.signerManager, f.pauser, all];
      const before = await state(f, operators);
      const tokens = [await f.usdt.getAddress(), await f.usdc.getAddress(), await f.bl.getAddress(), NATIVE];

      for (const op of operators) {
        for (const token of tokens) {
          await expect(f.escrow.connect(op).withdraw(token, 1n)).to.be.revertedWithCustomError(f.escrow, "MerchantNotRegistered").withArgs(op.address);
          await expect(f.escrow.connect(op).claim(token, op.address)).to.be.revertedWithCustomError(f.escrow, "NothingToClaim").withArgs(token, op.address);
        }
        for (const payment of [f.paid, f.blPaid]) {
          await expect(f.escrow.connect(op).refund(payment.intent.paymentId, op.address, 1n))
            .to.be.revertedWithCustomError(f.escrow, "NotPaymentMerchant")
            .withArgs(payment.intent.paymentId, op.address);
        }
        await expect(f.escrow.connect(op).refund(f.open.intent.paymentId, op.address, 1n))
          .to.be.revertedWithCustomError(f.escrow, "InvalidPaymentStatus")
          .withArgs(f.open.intent.paymentId, Status.Open);
        await expect(f.escrow.connect(op).setPayout(op.address)).to.be.revertedWithCustomError(f.escrow, "MerchantNotRegistered").withArgs(op.address);
        // An open deposit cannot be sent anywhere before its expiry, and never to anyone but its payer.
        await expect(f.escrow.connect(op).expire({ ...f.open.intent, refundTo: op.address }, f.usdc, [f.customer.address])).to.be.revertedWithCustomError(
          f.escrow,
          "IntentMismatch",
        );
      }

      for (const admin of [all]) {
        for (const token of tokens) {
          await expect(f.escrow.connect(admin).rescue(token, admin.address, 1n))
            .to.be.revertedWithCustomError(f.escrow, "RescueExceedsSurplus")
            .withArgs(token, 1n, 0n);
        }
      }
      for (const op of [f.admin, f.signerManager, f.pauser]) {
        await expect(f.escrow.connect(op).rescue(f.usdt, op.address, 1n))
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(op.address, DEFAULT_ADMIN_ROLE);
      }

      expect(await state(f, operators)).to.deep.equal(before);
    });

    it("a signer manager that registers itself as a merchant still cannot touch another merchant's funds", async function () {
      const f = await loadFixture(fundedFixture);
      const before = await state(f, [f.signerManager]);
      await f.escrow.connect(f.signerManager).registerMerchant(f.signerManager.address, f.signerManager.address, f.signerManager.address);
      const usdt = await f.usdt.getAddress();

      await expect(f.escrow.connect(f.signerManager).withdraw(usdt, 1n))
        .to.be.revertedWithCustomError(f.escrow, "InsufficientMerchantBalance")
        .withArgs(f.signerManager.address, usdt, 1n, 0n);
      await expect(f.escrow.connect(f.signerManager).refund(f.paid.intent.paymentId, f.signerManager.address, 1n))
        .to.be.revertedWithCustomError(f.escrow, "NotPaymentMerchant")
        .withArgs(f.paid.intent.paymentId, f.signerManager.address);
      // Re-registering the real merchant with its own payout wallet is refused.
      await expect(f.escrow.connect(f.signerManager).registerMerchant(f.merchant.address, f.signerManager.address, f.signerManager.address))
        .to.be.revertedWithCustomError(f.escrow, "MerchantAlreadyRegistered")
        .withArgs(f.merchant.address);
      expect((await f.escrow.merchantOf(f.merchant.address)).payout).to.equal(f.payout.address);

      expect(await state(f, [f.signerManager])).to.deep.equal(before);
    });

    it("the admin's configuration changes leave balances, deposits and claims intact", async function () {
      const f = await loadFixture(fundedFixture);
      const before = await state(f, [f.admin]);
      await f.escrow.connect(f.admin).disallowToken(f.usdt);
      await f.escrow.connect(f.admin).setToken(f.usdc, f.altFeed, 60);
      await f.escrow.connect(f.admin).setTolerance(f.usdc, 500);
      await f.escrow.connect(f.admin).setFee(500);
      await f.escrow.connect(f.admin).setTreasury(f.admin.address);
      expect(await state(f, [f.admin])).to.deep.equal(before);

      // And the merchant can still withdraw everything it is owed.
      await expect(f.escrow.connect(f.merchant).withdraw(f.usdt, TOKENS("100"))).to.changeTokenBalances(
        f.usdt,
        [f.escrow, f.payout],
        [-TOKENS("100"), TOKENS("100")],
      );
    });
  });
});
