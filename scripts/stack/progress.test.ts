import { expect } from "chai";
import { Progress } from "./progress";

describe("npm start's progress lines", function () {
  it("numbers each step, gives each its seconds when the next begins, and sums them up by name at the end", function () {
    const lines: string[] = [];
    let clock = 1_000;
    const progress = new Progress(
      3,
      (line) => lines.push(line),
      () => clock,
    );
    progress.step("loading Hardhat and the contracts", "contracts");
    clock += 2_340;
    progress.detail("escrow 0xabc");
    progress.step("starting a local chain", "chain");
    clock += 450;
    progress.step("deploying Open Pay: mock tokens");
    clock += 12_000;
    expect(progress.finish()).to.equal("15.8 s since the process started (contracts 2.3 s, chain 0.5 s, deploying 12.0 s)");
    expect(lines).to.deep.equal([
      "[1/3] loading Hardhat and the contracts",
      "      escrow 0xabc",
      "      took 2.3 s",
      "[2/3] starting a local chain",
      "      took 0.5 s",
      "[3/3] deploying Open Pay: mock tokens",
      "      took 12.0 s",
    ]);
  });

  it("says only the whole when no step was taken", function () {
    const progress = new Progress(
      0,
      () => expect.fail("no line expected"),
      () => 500,
    );
    expect(progress.finish()).to.equal("0.5 s since the process started");
  });
});
