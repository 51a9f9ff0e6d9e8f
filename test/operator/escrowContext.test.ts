import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { expect } from "chai";
import { zeroAddress } from "viem";
import { setFee } from "../../scripts/operator/configure";
import { describeRevert, escrowContext, requireRole, sendToEscrow } from "../../scripts/operator/escrowContext";
import { withdraw } from "../../scripts/operator/merchantFunds";
import { setPaused } from "../../scripts/operator/pausing";
import { blockNumber, DEPLOYMENTS_DIR_VARIABLE, KEYLESS, operatorError, simulateQuietly, tempDir, useLocalOpenPay, writeRecordCopy } from "./support";

describe("operator: the deployment record, the sender and the escrow's errors", function () {
  const world = useLocalOpenPay();
  const made: string[] = [];

  /** Points the commands at `dir` for this test (the support's afterEach points them back). */
  function useDir(dir: string) {
    made.push(dir);
    process.env[DEPLOYMENTS_DIR_VARIABLE] = dir;
    return dir;
  }

  after(function () {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  describe("the deployment record", function () {
    it("refuses every command when the chain has no record, naming the file and the chain", async function () {
      const dir = useDir(tempDir());
      const file = path.join(dir, "31337.json");
      const expected = `${file} not found: no Open Pay deployment recorded for chain 31337 (deploy with \`npm run deploy\`)`;
      expect(await operatorError(setPaused(hre, {}, true))).to.equal(expected);
      expect(await operatorError(simulateQuietly({}))).to.equal(expected);
      expect(await operatorError(withdraw(hre, { token: "USDT", all: true, from: world.merchant.address }))).to.equal(expected);
      expect((await world.escrow.settings()).paused).to.equal(false);
    });

    it("refuses a record whose escrow has no code (a chain reset since), naming the address", async function () {
      useDir(writeRecordCopy(world.record, { escrow: KEYLESS }));
      const before = await blockNumber();
      expect(await operatorError(setFee(hre, { bps: "10" }))).to.equal(
        `no contract at the recorded escrow ${KEYLESS} on hardhat: was the chain reset? Deploy again`,
      );
      expect(await blockNumber()).to.equal(before);
    });

    it("refuses a record that is not valid, naming the file and the field", async function () {
      const dir = useDir(writeRecordCopy(world.record, { escrow: "0x1234" }));
      expect(await operatorError(setFee(hre, { bps: "10" }))).to.equal(`${path.join(dir, "31337.json")}: escrow: must be an address`);
      writeFileSync(path.join(dir, "31337.json"), "{ not json");
      expect(await operatorError(setFee(hre, { bps: "10" }))).to.match(/31337\.json: not valid JSON \(/);
    });

    it("reads the record from OPENPAY_DEPLOYMENTS_DIR", async function () {
      const context = await escrowContext(hre, {}, () => undefined);
      expect(context.deployment).to.deep.equal(world.record);
      expect(context.chainId).to.equal(31337);
      expect(await context.escrow.getAddress()).to.equal(world.record.escrow);
    });
  });

  describe("the sender", function () {
    it("is the first configured key by default and the one --from names otherwise", async function () {
      expect((await escrowContext(hre, {})).sender.address).to.equal(world.admin.address);
      expect((await escrowContext(hre, { from: world.merchant.address.toLowerCase() })).sender.address).to.equal(world.merchant.address);
    });

    it("refuses --from an address with no configured key, and a malformed --from", async function () {
      expect(await operatorError(setPaused(hre, { from: KEYLESS }, true))).to.equal(`--from: no key configured for ${KEYLESS} on hardhat`);
      expect(await operatorError(setPaused(hre, { from: "admin" }, true))).to.equal('--from: "admin" is not an address (0x and 40 hex digits)');
      const typo = world.admin.address.replace("f39Fd", "F39fd");
      expect(await operatorError(setPaused(hre, { from: typo }, true))).to.equal(
        `--from: ${typo} has a wrong EIP-55 checksum (a typo?); expected ${world.admin.address}`,
      );
      expect((await world.escrow.settings()).paused).to.equal(false);
    });

    it("requireRole names the missing role, for --calldata too", async function () {
      const context = await escrowContext(hre, { from: world.operator.address });
      expect(await operatorError(requireRole(context, "PAUSER_ROLE"))).to.equal(
        `${world.operator.address} does not hold PAUSER_ROLE on the escrow ${world.record.escrow}`,
      );
      await requireRole(context, "OPERATOR_ROLE");
      const printing = await escrowContext(hre, { from: world.operator.address, calldata: true });
      expect(await operatorError(requireRole(printing, "PAUSER_ROLE"))).to.include("does not hold PAUSER_ROLE");
    });

    it("acts as a keyless --from address only to print calldata", async function () {
      expect(await operatorError(escrowContext(hre, { from: KEYLESS }))).to.equal(`--from: no key configured for ${KEYLESS} on hardhat`);
      const context = await escrowContext(hre, { from: KEYLESS, calldata: true });
      expect(context.sender.address).to.equal(KEYLESS);
    });
  });

  describe("sendToEscrow", function () {
    it("sends the call and reports it through the context's output", async function () {
      const lines: string[] = [];
      const context = await escrowContext(hre, {}, (line) => lines.push(line));
      const receipt = await sendToEscrow(context, "setTolerance", [world.record.tokens.USDT.address, 42]);
      expect(receipt!.status).to.equal(1);
      expect(lines).to.deep.equal([`setTolerance: transaction ${receipt!.hash} in block ${receipt!.blockNumber}`]);
      expect((await world.escrow.tokenConfigOf(world.record.tokens.USDT.address)).toleranceBps).to.equal(42n);
    });

    it("refuses with the escrow's custom error as one line, before anything is mined", async function () {
      const lines: string[] = [];
      const context = await escrowContext(hre, {}, (line) => lines.push(line));
      const before = await blockNumber();
      expect(await operatorError(sendToEscrow(context, "setFee", [501]))).to.equal("setFee: the escrow refused: FeeTooHigh(bps=501, max=500)");
      expect(await operatorError(sendToEscrow(context, "withdraw", [zeroAddress, 1n]))).to.equal(
        `withdraw: the escrow refused: MerchantNotRegistered(account=${world.admin.address})`,
      );
      expect(await blockNumber()).to.equal(before);
      expect(lines).to.deep.equal([]);
    });

    it("--calldata prints the transaction, after checking the escrow would take it from that sender", async function () {
      const lines: string[] = [];
      const context = await escrowContext(hre, { calldata: true }, (line) => lines.push(line));
      const before = await blockNumber();
      expect(await sendToEscrow(context, "setFee", [7])).to.equal(undefined);
      expect(JSON.parse(lines[0])).to.deep.equal({
        to: world.record.escrow,
        value: "0",
        data: world.escrow.interface.encodeFunctionData("setFee", [7]),
        method: "setFee",
        from: world.admin.address,
      });
      expect(await operatorError(sendToEscrow(context, "setFee", [501]))).to.equal("setFee: the escrow refused: FeeTooHigh(bps=501, max=500)");
      expect(lines).to.have.length(1);
      expect(await blockNumber()).to.equal(before);
    });
  });

  describe("describeRevert", function () {
    it("finds the revert data wherever the provider nested it", function () {
      const data = world.escrow.interface.encodeErrorResult("ZeroAmount", []);
      expect(describeRevert(world.escrow as never, { data })).to.equal("the escrow refused: ZeroAmount()");
      expect(describeRevert(world.escrow as never, { error: { info: { cause: { data } } } })).to.equal("the escrow refused: ZeroAmount()");
      const nested = world.escrow.interface.encodeErrorResult("TokenNotAllowed", [KEYLESS]);
      expect(describeRevert(world.escrow as never, new Error("reverted", { cause: { data: { data: nested } } }))).to.equal(
        `the escrow refused: TokenNotAllowed(token=${KEYLESS})`,
      );
    });

    it("is undefined for what is no escrow error", function () {
      expect(describeRevert(world.escrow as never, new Error("connection refused"))).to.equal(undefined);
      expect(describeRevert(world.escrow as never, { data: "0xdeadbeef" })).to.equal(undefined);
      expect(describeRevert(world.escrow as never, { data: "0x" })).to.equal(undefined);
      const cyclic: { error?: unknown } = {};
      cyclic.error = cyclic;
      expect(describeRevert(world.escrow as never, cyclic)).to.equal(undefined);
    });
  });
});
