import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import JSON5 from "json5";
import { zeroAddress } from "viem";
import type { MockV3Aggregator, IOpenPayEscrow, TestToken } from "../../typechain-types";
import { deployOpenPay, DeploymentError } from "../../deploy/deployOpenPay";
import OpenPayModule from "../../deploy/modules/OpenPay";
import { readNetworkParameters, type LocalParameters } from "../../deploy/parameters";
import { deploymentFile, escrowAbiHash, readDeployment, type DeploymentRecord } from "../../indexer/src/chain/deployment";
import { openPayEscrowAbi } from "../../indexer/src/chain/escrowAbi";
import { FEED_DECIMALS, NATIVE, PRICE, TOKENS, USD, TTL, allTokensMask, newPaymentId } from "../support/fixture";
import { signIntent, type PaymentIntent } from "../support/intents";
import { deployFeed, deployToken, expectPayment, Status } from "../support/payments";

const LOCAL_PARAMETERS_FILE = path.join(__dirname, "../../deploy/parameters/local.json5");
const SYMBOLS = ["USDT", "USDC", "BNB"] as const;

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "open-pay-modules-"));
  tempDirs.push(dir);
  return dir;
}

/** Writes `text` as a parameters file in a fresh temporary directory and returns its path. */
function parametersFile(text: string): string {
  const file = path.join(tempDir(), "parameters.json5");
  writeFileSync(file, text);
  return file;
}

/** local.json5 with `field`'s address replaced (the file's comments and other fields kept). */
function localWith(text: string, field: string, address: string): string {
  const pattern = new RegExp(`(\\n\\s*${field}: )"0x[0-9a-fA-F]{40}"`);
  expect(text, `local.json5 has no ${field} address line`).to.match(pattern);
  return text.replace(pattern, `$1"${address}"`);
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  expect.fail("expected the promise to reject");
}

async function escrowAt(address: string): Promise<IOpenPayEscrow> {
  return (await ethers.getContractAt("IOpenPayEscrow", address)) as unknown as IOpenPayEscrow;
}

async function tokenAt(address: string): Promise<TestToken> {
  return (await ethers.getContractAt("TestToken", address)) as unknown as TestToken;
}

async function feedAt(address: string): Promise<MockV3Aggregator> {
  return (await ethers.getContractAt("MockV3Aggregator", address)) as unknown as MockV3Aggregator;
}

/** Every role of the escrow, by the parameter naming its holder, with the role id the contract itself reports. */
async function roleIds(escrow: IOpenPayEscrow) {
  return {
    admin: await escrow.DEFAULT_ADMIN_ROLE(),
    signerManager: await escrow.SIGNER_MANAGER_ROLE(),
    pauser: await escrow.PAUSER_ROLE(),
    operator: await escrow.OPERATOR_ROLE(),
  };
}

describe("deployment modules", function () {
  after(function () {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });

  describe("deployOpenPay with deploy/parameters/local.json5 (LocalOpenPay) on Hardhat's network", function () {
    let local: LocalParameters["LocalOpenPay"];
    let dir: string;
    let record: DeploymentRecord;
    let file: string;
    let escrow: IOpenPayEscrow;
    let blockBefore: number;
    const lines: string[] = [];

    before(async function () {
      local = (readNetworkParameters(LOCAL_PARAMETERS_FILE).parameters as LocalParameters).LocalOpenPay;
      dir = tempDir();
      blockBefore = await ethers.provider.getBlockNumber();
      // No parametersFile: the hardhat network's default must be deploy/parameters/local.json5.
      ({ record, file } = await deployOpenPay(hre, { deploymentsDir: dir, displayUi: false }, (line) => lines.push(line)));
      escrow = await escrowAt(record.escrow);
    });

    it("writes <dir>/31337.json, which readDeployment accepts and which equals the returned record", async function () {
      expect(file).to.equal(deploymentFile(31337, dir));
      expect(readDeployment(31337, dir)).to.deep.equal(record);
      const [deployer] = await ethers.getSigners();
      expect(record).to.include({ chainId: 31337, network: "hardhat", deployer: deployer.address });
      expect(record.roles).to.deep.equal({
        admin: local.admin,
        signerManager: local.signerManager,
        pauser: local.pauser,
        operator: local.operator,
        treasury: local.treasury,
      });
      expect(record.demoMerchant).to.deep.equal({
        merchant: local.merchant,
        signer: local.merchantSigner,
        payout: local.merchantPayout,
      });
      expect(lines.join("\n")).to.include(record.escrow);
    });

    it("records the block the escrow was deployed in: no code at blockNumber - 1, code at blockNumber", async function () {
      expect(record.blockNumber).to.be.greaterThan(blockBefore);
      expect(await ethers.provider.getCode(record.escrow, record.blockNumber - 1)).to.equal("0x");
      expect(await ethers.provider.getCode(record.escrow, record.blockNumber)).to.not.equal("0x");
    });

    it("records the ABI hash of the indexer's escrow ABI", function () {
      expect(record.abiHash).to.equal(escrowAbiHash(openPayEscrowAbi));
    });

    it("records the escrow's own forwarder implementation as depositForwarder, and its administration", async function () {
      expect(await escrow.FORWARDER_IMPLEMENTATION()).to.equal(record.depositForwarder);
      expect(await ethers.provider.getCode(record.depositForwarder)).to.not.equal("0x");
      expect(await escrow.ADMINISTRATION()).to.equal(record.administration);
      expect(await ethers.provider.getCode(record.administration)).to.not.equal("0x");
    });

    it("configures USDT, USDC (mock 18-decimal tokens) and BNB with their own mock feeds at the local prices and staleness limits", async function () {
      const expected = {
        USDT: { price: BigInt(local.usdtPrice), maxStaleness: local.usdtMaxStaleness },
        USDC: { price: BigInt(local.usdcPrice), maxStaleness: local.usdcMaxStaleness },
        BNB: { price: BigInt(local.bnbPrice), maxStaleness: local.bnbMaxStaleness },
      };
      expect(Object.keys(record.tokens)).to.have.members([...SYMBOLS]);
      expect(record.tokens.BNB.address).to.equal(NATIVE);
      expect(new Set(SYMBOLS.map((symbol) => record.tokens[symbol].feed)).size).to.equal(3);

      for (const symbol of SYMBOLS) {
        const recorded = record.tokens[symbol];
        const config = await escrow.tokenConfigOf(recorded.address);
        expect(config.feed, symbol).to.not.equal(NATIVE); // allowed: a disallowed token's feed reads zero
        expect(config.feed, symbol).to.equal(recorded.feed);
        expect(config.maxStaleness, symbol).to.equal(BigInt(expected[symbol].maxStaleness));
        expect(config.decimals, symbol).to.equal(18n);
        expect(config.feedDecimals, symbol).to.equal(BigInt(FEED_DECIMALS));
        expect(recorded, symbol).to.include({ decimals: 18, maxStaleness: expected[symbol].maxStaleness });

        const feed = await feedAt(recorded.feed);
        expect(await feed.decimals(), symbol).to.equal(BigInt(FEED_DECIMALS));
        expect((await feed.latestRoundData()).answer, symbol).to.equal(expected[symbol].price);
        // The escrow values a whole token at the feed's price (8 decimals scaled to 18).
        expect(await escrow.quoteUsd(recorded.address, TOKENS("1")), symbol).to.equal(expected[symbol].price * 10n ** 10n);
      }
      for (const symbol of ["USDT", "USDC"] as const) {
        const token = await tokenAt(record.tokens[symbol].address);
        expect(await token.symbol()).to.equal(symbol);
        expect(await token.decimals()).to.equal(18n);
      }
    });

    it("sets each token's tolerance, the fee and the treasury of local.json5", async function () {
      expect((await escrow.tokenConfigOf(record.tokens.USDT.address)).toleranceBps).to.equal(BigInt(local.usdtToleranceBps));
      expect((await escrow.tokenConfigOf(record.tokens.USDC.address)).toleranceBps).to.equal(BigInt(local.usdcToleranceBps));
      expect((await escrow.tokenConfigOf(NATIVE)).toleranceBps).to.equal(BigInt(local.bnbToleranceBps));
      const settings = await escrow.settings();
      expect(settings.feeBps).to.equal(BigInt(local.feeBps));
      expect(settings.treasury).to.equal(local.treasury);
      expect(settings.paused).to.equal(false);
      // The time-to-live limit is the escrow's own default: no parameter sets it.
      expect(settings.maxTtlHours).to.equal(24n);
    });

    it("grants each role to the address local.json5 names, and no role to the wrong account", async function () {
      const roles = await roleIds(escrow);
      for (const [parameter, role] of Object.entries(roles) as Array<[keyof typeof roles, string]>) {
        expect(await escrow.hasRole(role, local[parameter]), parameter).to.equal(true);
      }
      // local.json5: account 0 is admin, signer manager and pauser; account 1 is only the operator.
      expect(await escrow.hasRole(roles.operator, local.admin)).to.equal(false);
      for (const role of [roles.admin, roles.signerManager, roles.pauser]) {
        expect(await escrow.hasRole(role, local.operator)).to.equal(false);
      }
    });

    it("registers the demo merchant with its payout wallet and intent signer", async function () {
      const merchant = await escrow.merchantOf(local.merchant);
      expect(merchant.id).to.equal(1n);
      expect(merchant.payout).to.equal(local.merchantPayout);
      expect(await escrow.isSigner(local.merchant, local.merchantSigner)).to.equal(true);
      expect(await escrow.isSigner(local.merchant, local.merchantPayout)).to.equal(false);
    });

    it("is usable: a customer pays a USDT payment signed by the demo signer, and the merchant withdraws it to its payout", async function () {
      const usdtAddress = record.tokens.USDT.address;
      const usdt = await tokenAt(usdtAddress);
      const customer = (await ethers.getSigners())[6];
      const signer = await ethers.getSigner(local.merchantSigner);
      const merchant = await ethers.getSigner(local.merchant);

      await usdt.mint(customer.address, TOKENS("25"));
      await usdt.connect(customer).approve(record.escrow, TOKENS("25"));
      const intent: PaymentIntent = {
        paymentId: newPaymentId(local.merchant),
        merchant: local.merchant,
        amountUsd: USD("25"),
        expiry: BigInt(await time.latest()) + BigInt(TTL),
        refundTo: ethers.ZeroAddress,
        acceptedTokens: await allTokensMask(escrow),
      };
      const signature = await signIntent(signer, escrow, intent);

      await expect(escrow.connect(customer).pay(intent, signature, usdtAddress, TOKENS("25"), ethers.ZeroAddress))
        .to.emit(escrow, "PaymentCompleted")
        .withArgs(intent.paymentId, local.merchant, customer.address, usdtAddress, TOKENS("25"), USD("25"), USD("25"), 0n, 0n);
      const { index } = await escrow.tokenConfigOf(usdtAddress);
      await expectPayment(escrow, intent.paymentId, {
        status: Status.Completed,
        tokenIndex: index,
        amount: TOKENS("25"),
        receivedUsd: USD("25"),
      });
      expect(await escrow.balanceOf(local.merchant, usdtAddress)).to.equal(TOKENS("25"));

      await expect(escrow.connect(merchant).withdraw(usdtAddress, TOKENS("25"))).to.changeTokenBalances(
        usdt,
        [record.escrow, local.merchantPayout],
        [-TOKENS("25"), TOKENS("25")],
      );
    });
  });

  describe("admin handover", function () {
    it("with admin ≠ deployer, begins the two-step admin transfer: the admin accepts after the delay, then the deployer is no admin", async function () {
      const [deployer, , newAdmin] = await ethers.getSigners();
      const text = localWith(readFileSync(LOCAL_PARAMETERS_FILE, "utf8"), "admin", newAdmin.address);
      const lines: string[] = [];
      const { record } = await deployOpenPay(hre, { parametersFile: parametersFile(text), deploymentsDir: tempDir(), displayUi: false }, (line) =>
        lines.push(line),
      );
      const escrow = await escrowAt(record.escrow);
      const roles = await roleIds(escrow);

      // Until the admin accepts, the deployer is the one admin; the transfer waits for the escrow's delay.
      expect(await escrow.defaultAdmin()).to.equal(deployer.address);
      const [pending, acceptSchedule] = await escrow.pendingDefaultAdmin();
      expect(pending).to.equal(newAdmin.address);
      const delay = await escrow.INITIAL_ADMIN_DELAY();
      expect(await escrow.defaultAdminDelay()).to.equal(delay);
      expect(record.roles.admin).to.equal(newAdmin.address);
      expect(record.deployer).to.equal(deployer.address);
      expect(lines.join("\n")).to.include(`admin role transfer from the deployer ${deployer.address} to ${newAdmin.address} begun`);
      await expect(escrow.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(escrow, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(acceptSchedule);

      await time.increaseTo(acceptSchedule + 1n);
      await escrow.connect(newAdmin).acceptDefaultAdminTransfer();
      expect(await escrow.defaultAdmin()).to.equal(newAdmin.address);
      expect(await escrow.hasRole(roles.admin, deployer.address)).to.equal(false);
      // Only the admin role is given up: the deployer keeps the roles local.json5 gives it.
      expect(await escrow.hasRole(roles.signerManager, deployer.address)).to.equal(true);
      expect(await escrow.hasRole(roles.pauser, deployer.address)).to.equal(true);

      await expect(escrow.connect(deployer).setFee(10))
        .to.be.revertedWithCustomError(escrow, "AccessControlUnauthorizedAccount")
        .withArgs(deployer.address, roles.admin);
      await escrow.connect(newAdmin).setFee(10);
      expect((await escrow.settings()).feeBps).to.equal(10n);
    });
  });

  describe("the live module OpenPay on Hardhat's network, with parameters in the live shape", function () {
    it("configures the given tokens and feeds, tolerance, fee and treasury, grants the roles, and leaves the admin handover to deployOpenPay", async function () {
      const signers = await ethers.getSigners();
      const [deployer, admin, signerManager, pauser, operator, treasury] = signers.slice(0, 6);
      const usdt = await deployToken(18, "USDT");
      const usdc = await deployToken(18, "USDC");
      const usdtFeed = await deployFeed(FEED_DECIMALS, PRICE("1"));
      const usdcFeed = await deployFeed(FEED_DECIMALS, PRICE("0.9998"));
      const bnbFeed = await deployFeed(FEED_DECIMALS, PRICE("600"));
      const parameters = {
        admin: admin.address,
        signerManager: signerManager.address,
        pauser: pauser.address,
        operator: operator.address,
        treasury: treasury.address,
        feeBps: 25,
        usdtToleranceBps: 10,
        usdcToleranceBps: 30,
        bnbToleranceBps: 150,
        usdtToken: await usdt.getAddress(),
        usdtFeed: await usdtFeed.getAddress(),
        usdtMaxStaleness: 86_400,
        usdcToken: await usdc.getAddress(),
        usdcFeed: await usdcFeed.getAddress(),
        usdcMaxStaleness: 43_200,
        bnbFeed: await bnbFeed.getAddress(),
        bnbMaxStaleness: 3_600,
      };

      const deployed = await hre.ignition.deploy(OpenPayModule, { parameters: { OpenPay: parameters }, displayUi: false });
      const escrow = await escrowAt(await deployed.escrow.getAddress());

      expect(await deployed.depositForwarder.getAddress()).to.equal(await escrow.FORWARDER_IMPLEMENTATION());
      const tokens = [
        { token: parameters.usdtToken, feed: parameters.usdtFeed, maxStaleness: parameters.usdtMaxStaleness, toleranceBps: 10, price: PRICE("1") },
        { token: parameters.usdcToken, feed: parameters.usdcFeed, maxStaleness: parameters.usdcMaxStaleness, toleranceBps: 30, price: PRICE("0.9998") },
        { token: zeroAddress, feed: parameters.bnbFeed, maxStaleness: parameters.bnbMaxStaleness, toleranceBps: 150, price: PRICE("600") },
      ];
      for (const { token, feed, maxStaleness, toleranceBps, price } of tokens) {
        const config = await escrow.tokenConfigOf(token);
        expect(
          { feed: config.feed, maxStaleness: config.maxStaleness, toleranceBps: config.toleranceBps, maxTtlHours: config.maxTtlHours },
          token,
        ).to.deep.equal({
          feed,
          maxTtlHours: 24n,
          maxStaleness: BigInt(maxStaleness),
          toleranceBps: BigInt(toleranceBps),
        });
        expect(await escrow.quoteUsd(token, TOKENS("1")), token).to.equal(price * 10n ** 10n);
      }

      const settings = await escrow.settings();
      expect(settings.feeBps).to.equal(25n);
      expect(settings.treasury).to.equal(treasury.address);

      const roles = await roleIds(escrow);
      for (const parameter of ["signerManager", "pauser", "operator"] as const) {
        expect(await escrow.hasRole(roles[parameter], parameters[parameter]), parameter).to.equal(true);
      }
      // The module leaves the deployer the one admin (deployOpenPay begins the two-step transfer to `admin`) and
      // grants it nothing else.
      expect(await escrow.defaultAdmin()).to.equal(deployer.address);
      expect(await escrow.hasRole(roles.admin, admin.address)).to.equal(false);
      for (const role of [roles.signerManager, roles.pauser, roles.operator]) {
        expect(await escrow.hasRole(role, deployer.address)).to.equal(false);
      }
    });
  });

  describe("refusals (nothing is deployed, no record is written)", function () {
    async function refusal(parametersFile: string): Promise<Error> {
      const dir = tempDir();
      const blockBefore = await ethers.provider.getBlockNumber();
      const error = await rejectionOf(deployOpenPay(hre, { parametersFile, deploymentsDir: dir, displayUi: false }, () => undefined));
      expect(error).to.be.instanceOf(DeploymentError);
      expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);
      expect(existsSync(deploymentFile(31337, dir))).to.equal(false);
      return error;
    }

    it("a parameters file for chain 56 on the hardhat network: names the file and both chain ids", async function () {
      const [a, b, c, d, e] = (await ethers.getSigners()).map((signer) => signer.address);
      const file = parametersFile(
        JSON5.stringify({
          $global: { chainId: 56 },
          OpenPay: {
            admin: a,
            signerManager: b,
            pauser: c,
            operator: d,
            treasury: e,
            feeBps: 0,
            usdtToleranceBps: 20,
            usdcToleranceBps: 20,
            bnbToleranceBps: 100,
            usdtToken: "0x55d398326f99059fF775485246999027B3197955",
            usdtFeed: a,
            usdtMaxStaleness: 86_400,
            usdcToken: "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d",
            usdcFeed: b,
            usdcMaxStaleness: 86_400,
            bnbFeed: c,
            bnbMaxStaleness: 3_600,
          },
        }),
      );
      const error = await refusal(file);
      expect(error.message).to.equal(`${file} is for chain 56 but hardhat is chain 31337`);
    });

    it("placeholder zero roles: names each zero field and the file", async function () {
      let text = readFileSync(LOCAL_PARAMETERS_FILE, "utf8");
      text = localWith(text, "signerManager", zeroAddress);
      text = localWith(text, "operator", zeroAddress);
      const file = parametersFile(text);
      const error = await refusal(file);
      expect(error.message).to.include(`${file}: LocalOpenPay.signerManager is the zero address`);
      expect(error.message).to.include(`${file}: LocalOpenPay.operator is the zero address`);
      expect(error.message).to.not.match(/\.(admin|pauser) is the zero address/);
    });

    it("a malformed parameters file: names the file and where JSON5 failed", async function () {
      const text = readFileSync(LOCAL_PARAMETERS_FILE, "utf8");
      const file = parametersFile(text.slice(0, text.indexOf("usdtToleranceBps")));
      const error = await refusal(file);
      expect(error.message).to.match(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: JSON5: invalid end of input`));
    });
  });
});
