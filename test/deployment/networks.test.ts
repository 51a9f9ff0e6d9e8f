import { expect } from "chai";
import { KEY_VARIABLES, liveNetworkProblems, liveNetworksConfig } from "../../deploy/networks";

// Well-formed but throwaway keys (Hardhat's default accounts 0–2): never fund them on a real chain.
const KEYS = {
  DEPLOYER_PRIVATE_KEY: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  OPERATOR_PRIVATE_KEY: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  MERCHANT_PRIVATE_KEY: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
};
const COMPLETE_ENV = {
  BSC_RPC_URL: "https://bsc-dataseed.bnbchain.org",
  BSC_TESTNET_RPC_URL: "https://data-seed-prebsc-1-s1.bnbchain.org:8545",
  ...KEYS,
};

interface LiveNetwork {
  chainId: number;
  url: string;
  accounts: string[];
}

function liveNetworks(env: NodeJS.ProcessEnv): { bsc: LiveNetwork; bscTestnet: LiveNetwork } {
  return liveNetworksConfig(env) as unknown as { bsc: LiveNetwork; bscTestnet: LiveNetwork };
}

describe("live networks (deploy/networks.ts)", function () {
  describe("liveNetworkProblems", function () {
    it("names BSC_RPC_URL on bsc and BSC_TESTNET_RPC_URL on bscTestnet when the network's own URL is missing", function () {
      const bsc = liveNetworkProblems("bsc", { BSC_TESTNET_RPC_URL: COMPLETE_ENV.BSC_TESTNET_RPC_URL });
      expect(bsc).to.have.lengthOf(1);
      expect(bsc[0]).to.match(/^BSC_RPC_URL is not set/);

      const testnet = liveNetworkProblems("bscTestnet", { BSC_RPC_URL: COMPLETE_ENV.BSC_RPC_URL });
      expect(testnet).to.have.lengthOf(1);
      expect(testnet[0]).to.match(/^BSC_TESTNET_RPC_URL is not set/);
    });

    it("counts an empty or blank URL (a copied .env.example) as missing", function () {
      for (const blank of ["", "   "]) {
        const problems = liveNetworkProblems("bsc", { BSC_RPC_URL: blank });
        expect(problems, JSON.stringify(blank)).to.have.lengthOf(1);
        expect(problems[0]).to.match(/^BSC_RPC_URL is not set/);
      }
    });

    it("refuses a URL that is not http(s)", function () {
      for (const url of ["wss://bsc-ws-node.nariox.org", "bsc-dataseed.bnbchain.org", "ftp://example.org"]) {
        expect(liveNetworkProblems("bscTestnet", { BSC_TESTNET_RPC_URL: url }), url).to.deep.equal([
          `BSC_TESTNET_RPC_URL must be an http(s) URL, got "${url}"`,
        ]);
      }
      expect(liveNetworkProblems("bsc", { BSC_RPC_URL: "http://127.0.0.1:8545" })).to.deep.equal([]);
    });

    it("refuses a malformed private key, naming its variable and never echoing the value", function () {
      const malformed = [
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff8", // 63 digits
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", // no 0x
        "0xzc0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", // not hex
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff8000", // 66 digits
      ];
      for (const key of malformed) {
        const problems = liveNetworkProblems("bsc", { BSC_RPC_URL: COMPLETE_ENV.BSC_RPC_URL, DEPLOYER_PRIVATE_KEY: key });
        expect(problems, key).to.deep.equal(["DEPLOYER_PRIVATE_KEY must be 0x followed by 64 hex digits"]);
        const secret = key.replace(/^0x/, "").slice(0, 16);
        expect(problems.join(" "), key).to.not.include(secret);
      }
      for (const name of KEY_VARIABLES) {
        const problems = liveNetworkProblems("bscTestnet", { ...COMPLETE_ENV, [name]: "0x1234" });
        expect(problems, name).to.deep.equal([`${name} must be 0x followed by 64 hex digits`]);
      }
    });

    it("accepts a network with no key at all (each key is optional)", function () {
      expect(liveNetworkProblems("bsc", { BSC_RPC_URL: COMPLETE_ENV.BSC_RPC_URL, DEPLOYER_PRIVATE_KEY: "" })).to.deep.equal([]);
    });

    it("reports every problem at once", function () {
      const problems = liveNetworkProblems("bsc", { OPERATOR_PRIVATE_KEY: "0x12", MERCHANT_PRIVATE_KEY: "nope" });
      expect(problems).to.have.lengthOf(3);
      expect(problems[0]).to.match(/^BSC_RPC_URL /);
      expect(problems[1]).to.match(/^OPERATOR_PRIVATE_KEY /);
      expect(problems[2]).to.match(/^MERCHANT_PRIVATE_KEY /);
    });

    it("returns [] for hardhat and localhost whatever the environment, and for a complete environment", function () {
      const broken = { BSC_RPC_URL: "ws://x", DEPLOYER_PRIVATE_KEY: "0x12" };
      expect(liveNetworkProblems("hardhat", broken)).to.deep.equal([]);
      expect(liveNetworkProblems("localhost", broken)).to.deep.equal([]);
      expect(liveNetworkProblems("bsc", COMPLETE_ENV)).to.deep.equal([]);
      expect(liveNetworkProblems("bscTestnet", COMPLETE_ENV)).to.deep.equal([]);
    });
  });

  describe("liveNetworksConfig", function () {
    it("configures bsc as chain 56 and bscTestnet as chain 97 with the URLs of their variables, trimmed", function () {
      const config = liveNetworks({ ...COMPLETE_ENV, BSC_RPC_URL: ` ${COMPLETE_ENV.BSC_RPC_URL}\n` });
      expect(Object.keys(config)).to.have.members(["bsc", "bscTestnet"]);
      expect(config.bsc).to.include({ chainId: 56, url: COMPLETE_ENV.BSC_RPC_URL });
      expect(config.bscTestnet).to.include({ chainId: 97, url: COMPLETE_ENV.BSC_TESTNET_RPC_URL });
    });

    it("leaves the URL empty when its variable is unset (the problem is reported once a command selects the network)", function () {
      const config = liveNetworks({});
      expect(config.bsc).to.deep.equal({ chainId: 56, url: "", accounts: [] });
      expect(config.bscTestnet).to.deep.equal({ chainId: 97, url: "", accounts: [] });
    });

    it("signs with the well-formed keys only, in the order deployer, operator, merchant", function () {
      expect(liveNetworks(COMPLETE_ENV).bsc.accounts).to.deep.equal([KEYS.DEPLOYER_PRIVATE_KEY, KEYS.OPERATOR_PRIVATE_KEY, KEYS.MERCHANT_PRIVATE_KEY]);
      const config = liveNetworks({
        ...COMPLETE_ENV,
        DEPLOYER_PRIVATE_KEY: ` ${KEYS.DEPLOYER_PRIVATE_KEY} `,
        OPERATOR_PRIVATE_KEY: KEYS.OPERATOR_PRIVATE_KEY.slice(0, -1),
        MERCHANT_PRIVATE_KEY: "",
      });
      expect(config.bsc.accounts).to.deep.equal([KEYS.DEPLOYER_PRIVATE_KEY]);
      expect(config.bscTestnet.accounts).to.deep.equal([KEYS.DEPLOYER_PRIVATE_KEY]);
    });
  });
});
