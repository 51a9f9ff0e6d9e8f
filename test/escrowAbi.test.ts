import { expect } from "chai";
import { artifacts } from "hardhat";
import { readFileSync } from "node:fs";
import { escrowAbiHash } from "../indexer/src/chain/deployment";
import { openPayEscrowAbi } from "../indexer/src/chain/escrowAbi";
import { balanceReader, escrowPaymentReader } from "../indexer/src/chain/readerCode";
import { ESCROW_ABI_FILE } from "../scripts/exportAbi";

const STALE = "indexer/src/chain/escrowAbi.ts is out of date with the compiled OpenPayEscrow: run `npm run abi`";

describe("the indexer's escrow ABI (indexer/src/chain/escrowAbi.ts)", function () {
  it("equals the compiled OpenPayEscrow's ABI, entry for entry and in the compiler's order", async function () {
    const { abi } = await artifacts.readArtifact("IOpenPayEscrow");
    expect(openPayEscrowAbi, STALE).to.deep.equal(abi);
    // The hash a deployment records is taken from the artifact; the indexer compares it with its own ABI.
    expect(escrowAbiHash(openPayEscrowAbi), STALE).to.equal(escrowAbiHash(abi));
  });

  it("carries its escrowAbiHash in the comment on line 2", function () {
    const line = readFileSync(ESCROW_ABI_FILE, "utf8").split("\n")[1];
    const match = /^\/\/ escrowAbiHash: (0x[0-9a-f]{64})$/.exec(line);
    expect(match, `line 2 of escrowAbi.ts is not "// escrowAbiHash: 0x…": ${line}`).to.not.equal(null);
    expect(match![1], STALE).to.equal(escrowAbiHash(openPayEscrowAbi));
  });

  it("carries the readers' creation code as compiled (indexer/src/chain/readerCode.ts)", async function () {
    for (const [reader, name] of [
      [escrowPaymentReader, "EscrowPaymentReader"],
      [balanceReader, "BalanceReader"],
    ] as const) {
      const artifact = await artifacts.readArtifact(name);
      expect(reader.bytecode, `readerCode.ts is out of date with ${name}: run \`npm run abi\``).to.equal(artifact.bytecode);
      expect(reader.abi).to.deep.equal(artifact.abi);
    }
  });
});
