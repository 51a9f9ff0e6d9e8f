import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import JSON5 from "json5";
import { getAddress, zeroAddress } from "viem";
import {
  PARAMETERS_DIR,
  deploymentReadinessProblems,
  parametersFileFor,
  readNetworkParameters,
  type LiveParameters,
  type LocalParameters,
} from "../../deploy/parameters";

/** The escrow's MAX_STALENESS_CAP (2 days). */
const MAX_STALENESS = 172_800;
const BSC_USD = "0x55d398326f99059fF775485246999027B3197955";
const BINANCE_PEG_USDC = "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d";
const ROLE_FIELDS = ["admin", "signerManager", "pauser", "operator"] as const;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

const FILES = {
  bsc: path.join(PARAMETERS_DIR, "bsc.json5"),
  bscTestnet: path.join(PARAMETERS_DIR, "bscTestnet.json5"),
  local: path.join(PARAMETERS_DIR, "local.json5"),
};

function live(file: string): LiveParameters["OpenPay"] {
  const network = readNetworkParameters(file);
  expect(network.module, file).to.equal("OpenPay");
  return (network.parameters as LiveParameters).OpenPay;
}

/** Every value of a module's parameters that is written as an address. */
function addressValues(values: Record<string, unknown>): Array<[string, string]> {
  return Object.entries(values).filter((entry): entry is [string, string] => typeof entry[1] === "string" && ADDRESS.test(entry[1]));
}

let dir: string;
/** Writes `text` to a fresh file in the temporary directory and returns its path. */
function writeTemp(text: string): string {
  const file = path.join(mkdtempSync(path.join(dir, "case-")), "parameters.json5");
  writeFileSync(file, text);
  return file;
}

/** The error message `fn` throws (fails the test when it does not throw). */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  expect.fail("expected an error");
}

describe("deployment parameters (deploy/parameters/*.json5)", function () {
  before(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), "open-pay-parameters-"));
  });
  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  describe("the committed files", function () {
    it("parse: bsc.json5 and bscTestnet.json5 with the OpenPay module for chains 56 and 97, local.json5 with LocalOpenPay for 31337", function () {
      const expected = [
        [FILES.bsc, "OpenPay", 56],
        [FILES.bscTestnet, "OpenPay", 97],
        [FILES.local, "LocalOpenPay", 31337],
      ] as const;
      for (const [file, module, chainId] of expected) {
        const network = readNetworkParameters(file);
        expect({ module: network.module, chainId: network.chainId, file: network.file }, file).to.deep.equal({ module, chainId, file });
        expect((network.parameters as { $global: { chainId: number } }).$global.chainId, file).to.equal(chainId);
      }
    });

    it("are the files parametersFileFor gives each network", function () {
      expect(parametersFileFor("bsc")).to.equal(FILES.bsc);
      expect(parametersFileFor("bscTestnet")).to.equal(FILES.bscTestnet);
      expect(parametersFileFor("hardhat")).to.equal(FILES.local);
      expect(parametersFileFor("localhost")).to.equal(FILES.local);
    });

    it("write every address EIP-55 checksummed", function () {
      const modules = [
        [FILES.bsc, live(FILES.bsc), 10],
        [FILES.bscTestnet, live(FILES.bscTestnet), 10],
        [FILES.local, (readNetworkParameters(FILES.local).parameters as LocalParameters).LocalOpenPay, 8],
      ] as const;
      for (const [file, values, count] of modules) {
        const addresses = addressValues(values);
        expect(addresses, file).to.have.lengthOf(count);
        for (const [field, value] of addresses) expect(value, `${file}: ${field}`).to.equal(getAddress(value));
      }
    });

    it("give every token of the live files a token address, a feed and a staleness limit of at most 2 days", function () {
      for (const file of [FILES.bsc, FILES.bscTestnet]) {
        const values = live(file);
        for (const symbol of ["usdt", "usdc", "bnb"] as const) {
          const feed = values[`${symbol}Feed`];
          const maxStaleness = values[`${symbol}MaxStaleness`];
          expect(feed, `${file}: ${symbol}Feed`).to.match(ADDRESS).and.not.equal(zeroAddress);
          expect(maxStaleness, `${file}: ${symbol}MaxStaleness`).to.be.within(1, MAX_STALENESS);
        }
        expect(values.usdtToken, file).to.match(ADDRESS).and.not.equal(zeroAddress);
        expect(values.usdcToken, file).to.match(ADDRESS).and.not.equal(zeroAddress);
        expect(values.usdtToken, file).to.not.equal(values.usdcToken);
      }
    });

    it("give every token of local.json5 a positive feed price and a staleness limit of at most 2 days", function () {
      const values = (readNetworkParameters(FILES.local).parameters as LocalParameters).LocalOpenPay;
      for (const symbol of ["usdt", "usdc", "bnb"] as const) {
        expect(BigInt(values[`${symbol}Price`]) > 0n, `${symbol}Price`).to.equal(true);
        expect(values[`${symbol}MaxStaleness`], `${symbol}MaxStaleness`).to.be.within(1, MAX_STALENESS);
      }
    });

    it("name BSC-USD and Binance-Peg USDC as the mainnet tokens", function () {
      const values = live(FILES.bsc);
      expect(values.usdtToken).to.equal(BSC_USD);
      expect(values.usdcToken).to.equal(BINANCE_PEG_USDC);
    });

    it("use a distinct feed for each token of a file, and no mainnet feed on testnet", function () {
      const feeds = (values: LiveParameters["OpenPay"]) => [values.usdtFeed, values.usdcFeed, values.bnbFeed];
      const mainnet = feeds(live(FILES.bsc));
      const testnet = feeds(live(FILES.bscTestnet));
      expect(new Set(mainnet).size, "bsc.json5").to.equal(3);
      expect(new Set(testnet).size, "bscTestnet.json5").to.equal(3);
      for (const feed of testnet) expect(mainnet, feed).to.not.include(feed);
    });

    it("leave the live roles as zero placeholders that deploymentReadinessProblems reports by field and file; local.json5 is ready", function () {
      for (const file of [FILES.bsc, FILES.bscTestnet]) {
        const network = readNetworkParameters(file);
        // The treasury may stay zero because the committed fee is 0.
        expect(deploymentReadinessProblems(network), file).to.deep.equal(
          ROLE_FIELDS.map((role) => `${file}: OpenPay.${role} is the zero address; set your ${role}'s address`),
        );
      }
      expect(deploymentReadinessProblems(readNetworkParameters(FILES.local))).to.deep.equal([]);
    });
  });

  describe("a bad parameters file is refused with a message naming the file and the field", function () {
    /** bsc.json5 with its placeholder roles filled in: valid and ready, so that each variant fails for its change alone. */
    function filledIn(): { $global: { chainId: number }; OpenPay: Record<string, unknown> } {
      const raw = JSON5.parse(readFileSync(FILES.bsc, "utf8"));
      Object.assign(raw.OpenPay, {
        admin: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        signerManager: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        pauser: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        operator: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
        treasury: "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
      });
      return raw;
    }

    function variant(change: (values: Record<string, unknown>) => void): string {
      const raw = filledIn();
      change(raw.OpenPay);
      return writeTemp(JSON5.stringify(raw, null, 2));
    }

    function refusal(change: (values: Record<string, unknown>) => void): { file: string; message: string } {
      const file = variant(change);
      return { file, message: messageOf(() => readNetworkParameters(file)) };
    }

    it("(the base: bsc.json5 with its roles filled in parses and is ready)", function () {
      const network = readNetworkParameters(variant(() => undefined));
      expect(deploymentReadinessProblems(network)).to.deep.equal([]);
    });

    it("an address with a wrong EIP-55 checksum, all lower case or with one letter's case flipped", function () {
      for (const address of [BSC_USD.toLowerCase(), BSC_USD.replace("fF", "ff")]) {
        const { file, message } = refusal((values) => (values.usdtToken = address));
        expect(message).to.equal(`${file}: OpenPay.usdtToken: must be an EIP-55 checksummed address`);
      }
    });

    it("a missing usdcFeed", function () {
      const { file, message } = refusal((values) => delete values.usdcFeed);
      expect(message).to.match(new RegExp(`^${literal(file)}: OpenPay\\.usdcFeed: `));
      expect(message).to.not.include(";");
    });

    it("a staleness limit of 0 or beyond the escrow's 2-day cap (2 days itself is accepted)", function () {
      for (const maxStaleness of [0, 200_000, MAX_STALENESS + 1]) {
        const { file, message } = refusal((values) => (values.bnbMaxStaleness = maxStaleness));
        expect(message, String(maxStaleness)).to.match(new RegExp(`^${literal(file)}: OpenPay\\.bnbMaxStaleness: `));
      }
      const network = readNetworkParameters(variant((values) => (values.bnbMaxStaleness = MAX_STALENESS)));
      expect((network.parameters as LiveParameters).OpenPay.bnbMaxStaleness).to.equal(MAX_STALENESS);
    });

    it("a token's tolerance above the escrow's 500 bps (500 itself is accepted)", function () {
      for (const key of ["usdtToleranceBps", "usdcToleranceBps", "bnbToleranceBps"]) {
        const { file, message } = refusal((values) => (values[key] = 501));
        expect(message).to.match(new RegExp(`^${literal(file)}: OpenPay\\.${key}: `));
        expect(() => readNetworkParameters(variant((values) => (values[key] = 500)))).to.not.throw();
      }
    });

    it("an unknown extra key (a misspelt parameter is not silently ignored)", function () {
      const { file, message } = refusal((values) => (values.usdtFeeed = values.usdtFeed));
      expect(message).to.equal(`${file}: OpenPay: Unrecognized key: "usdtFeeed"`);
    });

    it("a live file for a chain other than 56 or 97", function () {
      const raw = filledIn();
      raw.$global.chainId = 31337;
      const file = writeTemp(JSON5.stringify(raw));
      expect(messageOf(() => readNetworkParameters(file))).to.match(new RegExp(`^${literal(file)}: \\$global\\.chainId: `));
    });

    it("a fee with the zero address as treasury is reported by deploymentReadinessProblems (a zero fee needs no treasury)", function () {
      const file = variant((values) => Object.assign(values, { feeBps: 50, treasury: zeroAddress }));
      expect(deploymentReadinessProblems(readNetworkParameters(file))).to.deep.equal([
        `${file}: OpenPay.feeBps is 50 but OpenPay.treasury is the zero address`,
      ]);
      const free = readNetworkParameters(variant((values) => Object.assign(values, { feeBps: 0, treasury: zeroAddress })));
      expect(deploymentReadinessProblems(free)).to.deep.equal([]);
    });

    it("invalid JSON5", function () {
      const file = writeTemp(`{ $global: { chainId: 56 }, OpenPay: { admin: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" ]`);
      expect(messageOf(() => readNetworkParameters(file))).to.match(new RegExp(`^${literal(file)}: JSON5: invalid character`));
    });
  });

  describe("readNetworkParameters", function () {
    it('reads feed prices beyond 2^53 written in Ignition\'s "123n" notation as bigints', function () {
      const text = readFileSync(FILES.local, "utf8").replace(/usdtPrice: \d+/, 'usdtPrice: "100000000000000000000n"');
      expect(text).to.include('"100000000000000000000n"');
      const network = readNetworkParameters(writeTemp(text));
      expect((network.parameters as LocalParameters).LocalOpenPay.usdtPrice).to.equal(10n ** 20n);
    });
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
