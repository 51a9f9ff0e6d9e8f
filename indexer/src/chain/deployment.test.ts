import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { zeroAddress, type Abi } from "viem";
import { deployedToken, deploymentFile, escrowAbiHash, readDeployment, writeDeployment, type DeploymentRecord } from "./deployment";

const USDT = "0x55d398326f99059fF775485246999027B3197955";
const USDC = "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d";

const RECORD: DeploymentRecord = {
  chainId: 97,
  network: "bscTestnet",
  escrow: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  depositForwarder: "0xa16E02E87b7454126E5E10d957A927A7F5B5d2be",
  administration: "0xB7A5bd0345EF1Cc5E66bf61BdeC17D2461fBd968",
  blockNumber: 51_234_567,
  abiHash: "0x80592c400c5770c7298e094b830d81d68dbe804d17aac944279a87b332a0b8ce",
  deployer: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  tokens: {
    USDT: { address: USDT, feed: "0xB97Ad0E74fa7d920791E90258A6E2085088b4320", decimals: 18, maxStaleness: 86_400 },
    USDC: { address: USDC, feed: "0x51597f405303C4377E36123cBc172b13269EA163", decimals: 18, maxStaleness: 86_400 },
    BNB: { address: zeroAddress, feed: "0x0567F2323251f0Aab15c8dFb1967E4e8A7D42aeE", decimals: 18, maxStaleness: 3_600 },
  },
  roles: {
    admin: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    signerManager: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    pauser: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    operator: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    treasury: "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
  },
  deployedAt: "2025-01-02T03:04:05.678Z",
};

const SMALL_ABI = [
  {
    type: "function",
    name: "pay",
    stateMutability: "nonpayable",
    inputs: [{ name: "amount", type: "uint256", internalType: "uint256" }],
    outputs: [],
  },
  {
    type: "event",
    name: "Paid",
    anonymous: false,
    inputs: [{ name: "amount", type: "uint256", indexed: false, internalType: "uint256" }],
  },
] as const satisfies Abi;

describe("deployment record (deployments/<chainId>.json)", function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), "open-pay-deployment-"));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `content` (JSON-encoded unless a string) as <dir>/<chainId>.json, bypassing writeDeployment's checks. */
  function writeRaw(chainId: number, content: unknown): string {
    const file = deploymentFile(chainId, dir);
    writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
    return file;
  }

  /** readDeployment's error message, asserting that it begins with the file's path. */
  function readError(chainId: number): string {
    const file = deploymentFile(chainId, dir);
    let message: string | undefined;
    try {
      readDeployment(chainId, dir);
    } catch (error) {
      message = (error as Error).message;
    }
    assert.ok(message !== undefined, `readDeployment(${chainId}) did not throw`);
    assert.ok(message.startsWith(file), `the message does not name ${file}: ${message}`);
    return message;
  }

  describe("writeDeployment and readDeployment", function () {
    it("round-trip a record through <dir>/<chainId>.json", function () {
      const file = writeDeployment(RECORD, dir);
      assert.equal(file, path.join(dir, "97.json"));
      assert.deepEqual(readDeployment(97, dir), RECORD);
      assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), RECORD);
    });

    it("round-trips the local demo merchant", function () {
      const local = {
        ...RECORD,
        chainId: 31337,
        network: "hardhat",
        demoMerchant: { merchant: RECORD.roles.pauser, signer: RECORD.roles.operator, payout: RECORD.roles.treasury },
      };
      writeDeployment(local, dir);
      assert.deepEqual(readDeployment(31337, dir), local);
    });

    it("creates the directory when it does not exist", function () {
      const nested = path.join(dir, "a", "b");
      writeDeployment(RECORD, nested);
      assert.deepEqual(readDeployment(97, nested), RECORD);
    });

    it("store and return addresses checksummed, whatever their case", function () {
      writeDeployment({ ...RECORD, escrow: RECORD.escrow.toLowerCase() as DeploymentRecord["escrow"] }, dir);
      assert.equal(JSON.parse(readFileSync(deploymentFile(97, dir), "utf8")).escrow, RECORD.escrow);
      writeRaw(97, { ...RECORD, depositForwarder: RECORD.depositForwarder.toLowerCase() });
      assert.equal(readDeployment(97, dir).depositForwarder, RECORD.depositForwarder);
    });

    it("writeDeployment refuses an invalid record and writes nothing", function () {
      assert.throws(() => writeDeployment({ ...RECORD, blockNumber: -1 }, dir), /blockNumber/);
      assert.equal(existsSync(deploymentFile(97, dir)), false);
    });
  });

  describe("readDeployment refuses, naming the file", function () {
    it("a missing file, saying how to deploy", function () {
      const message = readError(56);
      assert.match(message, /not found: no Open Pay deployment recorded for chain 56/);
      assert.match(message, /npm run deploy/);
    });

    it("a file that is not JSON", function () {
      writeRaw(97, '{ "chainId": 97, ');
      assert.match(readError(97), /: not valid JSON \(/);
    });

    it("a record of another chain", function () {
      writeRaw(56, RECORD);
      assert.match(readError(56), /: records chain 97, expected 56$/);
    });

    it("a bad field, by its path", function () {
      writeRaw(97, { ...RECORD, escrow: "0x12" });
      assert.match(readError(97), /: escrow: must be an address$/);

      writeRaw(97, { ...RECORD, abiHash: RECORD.abiHash.toUpperCase().replace("0X", "0x") });
      assert.match(readError(97), /: abiHash: must be a 32-byte lowercase hex string$/);

      writeRaw(97, { ...RECORD, tokens: { ...RECORD.tokens, BNB: { ...RECORD.tokens.BNB, feed: "feed" } } });
      assert.match(readError(97), /: tokens\.BNB\.feed: must be an address$/);

      writeRaw(97, { ...RECORD, roles: { ...RECORD.roles, operator: undefined } });
      assert.match(readError(97), /: roles\.operator: /);
    });

    it("an extra field", function () {
      writeRaw(97, { ...RECORD, escrowAddress: RECORD.escrow });
      assert.match(readError(97), /: \(record\): Unrecognized key: "escrowAddress"$/);
    });
  });

  describe("deployedToken", function () {
    it("finds a token by its symbol in any case", function () {
      for (const query of ["USDT", "usdt", "Usdt"]) {
        assert.deepEqual(deployedToken(RECORD, query), { symbol: "USDT", address: USDT }, query);
      }
      assert.deepEqual(deployedToken(RECORD, "bnb"), { symbol: "BNB", address: zeroAddress });
    });

    it("finds a token by its address in any case, BNB by the zero address", function () {
      assert.deepEqual(deployedToken(RECORD, USDC), { symbol: "USDC", address: USDC });
      assert.deepEqual(deployedToken(RECORD, USDC.toLowerCase()), { symbol: "USDC", address: USDC });
      assert.deepEqual(deployedToken(RECORD, zeroAddress), { symbol: "BNB", address: zeroAddress });
    });

    it("returns undefined for a token the deployment does not accept", function () {
      assert.equal(deployedToken(RECORD, "DAI"), undefined);
      assert.equal(deployedToken(RECORD, RECORD.escrow), undefined);
      assert.equal(deployedToken(RECORD, ""), undefined);
    });
  });

  describe("escrowAbiHash", function () {
    it("is a 32-byte lowercase hex string, the same for equal ABIs", function () {
      const hash = escrowAbiHash(SMALL_ABI);
      assert.match(hash, /^0x[0-9a-f]{64}$/);
      assert.equal(escrowAbiHash(SMALL_ABI), hash);
      assert.equal(escrowAbiHash(structuredClone(SMALL_ABI) as unknown as Abi), hash);
    });

    it("changes when the ABI changes: an entry added, a parameter renamed, a mutability changed or entries reordered", function () {
      const hash = escrowAbiHash(SMALL_ABI);
      const [fn, event] = SMALL_ABI;
      const variants: Array<readonly unknown[]> = [
        [...SMALL_ABI, { type: "error", name: "Nope", inputs: [] }],
        [{ ...fn, inputs: [{ ...fn.inputs[0], name: "value" }] }, event],
        [{ ...fn, stateMutability: "payable" }, event],
        [event, fn],
        [fn],
      ];
      const hashes = variants.map((abi) => escrowAbiHash(abi));
      for (const changed of hashes) assert.notEqual(changed, hash);
      assert.equal(new Set(hashes).size, variants.length);
    });
  });
});
