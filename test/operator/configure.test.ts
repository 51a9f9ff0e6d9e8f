import hre from "hardhat";
import { expect } from "chai";
import { transferAdmin } from "../support/scenarios";
import { zeroAddress } from "viem";
import { allowToken, disallowToken, setFee, setMaxTtl, setTolerance } from "../../scripts/operator/configure";
import { blockNumber, captureLog, decodeCalldata, KEYLESS, operatorError, simulateQuietly, useLocalOpenPay } from "./support";

describe("operator: allow-token, disallow-token, set-tolerance, set-fee, set-max-ttl", function () {
  const world = useLocalOpenPay();

  async function newTokenWithFeed(decimals = 6) {
    const token = await (await hre.ethers.getContractFactory("TestToken")).deploy("Dai", "DAI", decimals);
    const feed = await (await hre.ethers.getContractFactory("MockV3Aggregator")).deploy(8, 100_000_000n);
    return { token: await token.getAddress(), feed: await feed.getAddress() };
  }

  describe("allow-token", function () {
    it("accepts a new token with its feed and staleness limit", async function () {
      const { token, feed } = await newTokenWithFeed(6);
      const { lines } = await captureLog(() => allowToken(hre, { token, feed, maxStaleness: "3600" }));
      expect(lines[0]).to.match(/^setToken: transaction 0x[0-9a-f]{64} in block \d+$/);
      const config = await world.escrow.tokenConfigOf(token);
      expect(config.feed).to.not.equal(zeroAddress);
      expect(config.feed).to.equal(feed);
      expect(config.maxStaleness).to.equal(3600n);
      expect(config.decimals).to.equal(6n);
      expect(config.feedDecimals).to.equal(8n);
      expect(await world.escrow.tokenAt(config.index)).to.equal(token);
      // The escrow values it by the new feed: 1 token of 6 decimals at $1.
      expect(await world.escrow.quoteUsd(token, 1_000_000n)).to.equal(10n ** 18n);
    });

    it("takes a lower-case token address", async function () {
      const { token, feed } = await newTokenWithFeed(18);
      await captureLog(() => allowToken(hre, { token: token.toLowerCase(), feed, maxStaleness: "60" }));
      expect((await world.escrow.tokenConfigOf(token)).feed).to.not.equal(zeroAddress);
    });

    it("takes BNB as the token and updates its feed and staleness limit", async function () {
      const { feed } = await newTokenWithFeed();
      const index = (await world.escrow.tokenConfigOf(zeroAddress)).index;
      await captureLog(() => allowToken(hre, { token: "bnb", feed, maxStaleness: "120" }));
      const config = await world.escrow.tokenConfigOf(zeroAddress);
      expect(config.feed).to.equal(feed);
      expect(config.maxStaleness).to.equal(120n);
      expect(config.feed).to.not.equal(zeroAddress);
      expect(config.index).to.equal(index);
    });

    it("refuses a staleness limit of 0 or beyond two days, naming --max-staleness, and sends nothing", async function () {
      const { token, feed } = await newTokenWithFeed();
      const before = await blockNumber();
      expect(await operatorError(allowToken(hre, { token, feed, maxStaleness: "0" }))).to.equal("--max-staleness: 0 is outside 1..172800 seconds");
      expect(await operatorError(allowToken(hre, { token, feed, maxStaleness: "200000" }))).to.equal("--max-staleness: 200000 is outside 1..172800 seconds");
      expect(await operatorError(allowToken(hre, { token, feed }))).to.equal("--max-staleness is required");
      expect(await blockNumber()).to.equal(before);
      expect((await world.escrow.tokenConfigOf(token)).index).to.equal(0n);
    });

    it("refuses a malformed feed address and one with a wrong checksum", async function () {
      const { token, feed } = await newTokenWithFeed();
      expect(await operatorError(allowToken(hre, { token, feed: "0x1234", maxStaleness: "60" }))).to.equal(
        '--feed: "0x1234" is not an address (0x and 40 hex digits)',
      );
      const mangled = flipCase(feed);
      expect(await operatorError(allowToken(hre, { token, feed: mangled, maxStaleness: "60" }))).to.equal(
        `--feed: ${mangled} has a wrong EIP-55 checksum (a typo?); expected ${feed}`,
      );
      expect(await operatorError(allowToken(hre, { token: "DAI", feed, maxStaleness: "60" }))).to.equal(
        '--token: "DAI" is not an address (0x and 40 hex digits)',
      );
    });

    it("refuses a sender without DEFAULT_ADMIN_ROLE", async function () {
      const { token, feed } = await newTokenWithFeed();
      const message = await operatorError(allowToken(hre, { token, feed, maxStaleness: "60", from: world.operator.address }));
      expect(message).to.equal(`${world.operator.address} does not hold DEFAULT_ADMIN_ROLE on the escrow ${world.record.escrow}`);
      expect((await world.escrow.tokenConfigOf(token)).index).to.equal(0n);
    });

    it("refuses a feed or token with no contract behind it, naming the option", async function () {
      const { token, feed } = await newTokenWithFeed();
      expect(await operatorError(allowToken(hre, { token, feed: zeroAddress, maxStaleness: "60" }))).to.equal(
        `--feed: no contract at ${zeroAddress} on hardhat`,
      );
      expect(await operatorError(allowToken(hre, { token: KEYLESS, feed, maxStaleness: "60" }))).to.equal(`--token: no contract at ${KEYLESS} on hardhat`);
      expect((await world.escrow.tokenConfigOf(token)).index).to.equal(0n);
    });

    it("takes a token by its symbol in the deployment record", async function () {
      await captureLog(() => disallowToken(hre, { token: "usdc" }));
      expect((await world.escrow.tokenConfigOf(world.record.tokens.USDC.address)).feed).to.equal(zeroAddress);
    });

    it("--calldata prints setToken(token, feed, staleness) and sends nothing", async function () {
      const { token, feed } = await newTokenWithFeed();
      const before = await blockNumber();
      const { lines } = await captureLog(() => allowToken(hre, { token, feed, maxStaleness: "900", calldata: true }));
      const { printed, call } = decodeCalldata(world.escrow, lines);
      expect(printed).to.include({ to: world.record.escrow, value: "0", method: "setToken" });
      expect(call.name).to.equal("setToken");
      expect([...call.args]).to.deep.equal([token, feed, 900n]);
      expect(await blockNumber()).to.equal(before);
      expect((await world.escrow.tokenConfigOf(token)).index).to.equal(0n);
    });
  });

  describe("disallow-token", function () {
    it("stops new payments in a token given by address; BNB and the others stay allowed", async function () {
      const usdc = world.record.tokens.USDC.address;
      await captureLog(() => disallowToken(hre, { token: usdc }));
      expect((await world.escrow.tokenConfigOf(usdc)).feed).to.equal(zeroAddress);
      expect((await world.escrow.tokenConfigOf(world.record.tokens.USDT.address)).feed).to.not.equal(zeroAddress);
      expect((await world.escrow.tokenConfigOf(zeroAddress)).feed).to.not.equal(zeroAddress);

      const refused = await simulateQuietly({ scenario: "full", token: "USDC" });
      expect(refused.refused).to.equal(`the escrow refused: TokenNotAllowed(token=${usdc})`);
    });

    it("takes BNB as the token", async function () {
      await captureLog(() => disallowToken(hre, { token: "BNB" }));
      expect((await world.escrow.tokenConfigOf(zeroAddress)).feed).to.equal(zeroAddress);
    });

    it("refuses a sender without DEFAULT_ADMIN_ROLE and a missing --token", async function () {
      const usdt = world.record.tokens.USDT.address;
      expect(await operatorError(disallowToken(hre, { token: usdt, from: world.merchant.address }))).to.equal(
        `${world.merchant.address} does not hold DEFAULT_ADMIN_ROLE on the escrow ${world.record.escrow}`,
      );
      expect(await operatorError(disallowToken(hre, {}))).to.equal("--token is required");
      expect((await world.escrow.tokenConfigOf(usdt)).feed).to.not.equal(zeroAddress);
    });

    it("--calldata prints disallowToken(token) and sends nothing", async function () {
      const { lines } = await captureLog(() => disallowToken(hre, { token: "BNB", calldata: true }));
      const { call } = decodeCalldata(world.escrow, lines);
      expect(call.name).to.equal("disallowToken");
      expect(call.args[0]).to.equal(zeroAddress);
      expect((await world.escrow.tokenConfigOf(zeroAddress)).feed).to.not.equal(zeroAddress);
    });
  });

  describe("set-tolerance", function () {
    it("sets one token's tolerance, by symbol or BNB, leaving the others' alone", async function () {
      const { USDT, USDC, BNB } = world.record.tokens;
      await captureLog(() => setTolerance(hre, { token: "USDT", bps: "5" }));
      expect((await world.escrow.tokenConfigOf(USDT.address)).toleranceBps).to.equal(5n);
      expect((await world.escrow.tokenConfigOf(USDC.address)).toleranceBps).to.equal(20n);
      expect((await world.escrow.tokenConfigOf(BNB.address)).toleranceBps).to.equal(100n);
      await captureLog(() => setTolerance(hre, { token: "BNB", bps: "250" }));
      expect((await world.escrow.tokenConfigOf(BNB.address)).toleranceBps).to.equal(250n);
    });

    it("refuses 501 basis points, a missing --token and a token never configured before sending anything", async function () {
      const before = await blockNumber();
      expect(await operatorError(setTolerance(hre, { token: "USDT", bps: "501" }))).to.equal("--bps: 501 is outside 0..500 basis points");
      expect(await operatorError(setTolerance(hre, { token: "USDT", bps: "1%" }))).to.equal('--bps: "1%" is not a whole number of basis points');
      expect(await operatorError(setTolerance(hre, { bps: "10" }))).to.equal("--token is required");
      expect(await operatorError(setTolerance(hre, { token: KEYLESS, bps: "10" }))).to.contain("TokenNotAllowed");
      expect(await blockNumber()).to.equal(before);
      expect((await world.escrow.tokenConfigOf(world.record.tokens.USDT.address)).toleranceBps).to.equal(20n);
    });

    it("refuses a sender without DEFAULT_ADMIN_ROLE", async function () {
      expect(await operatorError(setTolerance(hre, { token: "USDT", bps: "10", from: world.customer.address }))).to.contain("does not hold DEFAULT_ADMIN_ROLE");
    });
  });

  describe("set-fee", function () {
    it("sets the platform fee, which completed payments then pay", async function () {
      await captureLog(() => setFee(hre, { bps: "500" }));
      expect((await world.escrow.settings()).feeBps).to.equal(500n);
      const paid = await simulateQuietly({ scenario: "full", token: "USDT", usd: "100" });
      // 5% of 100 USDT goes to the treasury's ledger, 95 to the merchant.
      expect((await world.escrow.ledgerOf(world.record.tokens.USDT.address)).fees).to.equal(5n * 10n ** 18n);
      expect(await world.escrow.balanceOf(world.merchant.address, world.record.tokens.USDT.address)).to.equal(95n * 10n ** 18n);
      expect(paid.status).to.equal("completed");
    });

    it("refuses 501 basis points, naming --bps", async function () {
      expect(await operatorError(setFee(hre, { bps: "501" }))).to.equal("--bps: 501 is outside 0..500 basis points");
      expect(await operatorError(setFee(hre, {}))).to.equal("--bps is required");
      expect((await world.escrow.settings()).feeBps).to.equal(0n);
    });

    it("--calldata prints setFee(bps) for an admin without a key here (a multisig), and sends nothing", async function () {
      // The admin role moves to the multisig in its two steps; the multisig accepts through its own interface.
      await hre.network.provider.send("hardhat_impersonateAccount", [KEYLESS]);
      await hre.network.provider.send("hardhat_setBalance", [KEYLESS, "0xde0b6b3a7640000"]);
      await transferAdmin(world.escrow, world.admin, await hre.ethers.getSigner(KEYLESS));
      await hre.network.provider.send("hardhat_stopImpersonatingAccount", [KEYLESS]);
      expect(await operatorError(setFee(hre, { bps: "42", calldata: true, from: world.customer.address }))).to.equal(
        `${world.customer.address} does not hold DEFAULT_ADMIN_ROLE on the escrow ${world.record.escrow}`,
      );
      const before = await blockNumber();
      const { lines } = await captureLog(() => setFee(hre, { bps: "42", calldata: true, from: KEYLESS }));
      const { printed, call } = decodeCalldata(world.escrow, lines);
      expect(printed.to).to.equal(world.record.escrow);
      expect(call.name).to.equal("setFee");
      expect(call.args[0]).to.equal(42n);
      expect(await blockNumber()).to.equal(before);
      expect((await world.escrow.settings()).feeBps).to.equal(0n);
    });
  });

  describe("set-max-ttl", function () {
    it("sets the longest time to live of a payment at its first deposit, which intents expiring later then meet", async function () {
      expect((await world.escrow.settings()).maxTtlHours).to.equal(24n);
      const { lines } = await captureLog(() => setMaxTtl(hre, { hours: "168" }));
      expect(lines[0]).to.match(/^setMaxTtl: transaction 0x[0-9a-f]{64} in block \d+$/);
      expect((await world.escrow.settings()).maxTtlHours).to.equal(168n);
      expect((await world.escrow.tokenConfigOf(world.record.tokens.USDT.address)).maxTtlHours).to.equal(168n);

      // At one hour, the demo's 30-minute intents are still paid.
      await captureLog(() => setMaxTtl(hre, { hours: "1" }));
      expect((await world.escrow.settings()).maxTtlHours).to.equal(1n);
      expect((await simulateQuietly({ scenario: "full", token: "USDT" })).status).to.equal("completed");
    });

    it("refuses 0, 169, a fraction and a missing --hours, naming the option, before sending anything", async function () {
      const before = await blockNumber();
      expect(await operatorError(setMaxTtl(hre, { hours: "0" }))).to.equal("--hours: 0 is outside 1..168 hours");
      expect(await operatorError(setMaxTtl(hre, { hours: "169" }))).to.equal("--hours: 169 is outside 1..168 hours");
      expect(await operatorError(setMaxTtl(hre, { hours: "1.5" }))).to.equal('--hours: "1.5" is not a whole number of hours');
      expect(await operatorError(setMaxTtl(hre, {}))).to.equal("--hours is required");
      expect(await blockNumber()).to.equal(before);
      expect((await world.escrow.settings()).maxTtlHours).to.equal(24n);
    });

    it("refuses a sender without DEFAULT_ADMIN_ROLE, and --calldata prints setMaxTtl(hours) without sending", async function () {
      expect(await operatorError(setMaxTtl(hre, { hours: "48", from: world.operator.address }))).to.equal(
        `${world.operator.address} does not hold DEFAULT_ADMIN_ROLE on the escrow ${world.record.escrow}`,
      );
      const before = await blockNumber();
      const { lines } = await captureLog(() => setMaxTtl(hre, { hours: "48", calldata: true }));
      const { printed, call } = decodeCalldata(world.escrow, lines);
      expect(printed).to.include({ to: world.record.escrow, value: "0", method: "setMaxTtl" });
      expect(call.name).to.equal("setMaxTtl");
      expect(call.args[0]).to.equal(48n);
      expect(await blockNumber()).to.equal(before);
      expect((await world.escrow.settings()).maxTtlHours).to.equal(24n);
    });
  });
});

/** An address with the case of its first letter flipped: a wrong EIP-55 checksum. */
function flipCase(address: string): string {
  const body = address.slice(2);
  const at = body.search(/[a-fA-F]/);
  const letter = body[at];
  const flipped = letter === letter.toUpperCase() ? letter.toLowerCase() : letter.toUpperCase();
  return `0x${body.slice(0, at)}${flipped}${body.slice(at + 1)}`;
}
