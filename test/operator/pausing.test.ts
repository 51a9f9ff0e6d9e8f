import hre from "hardhat";
import { expect } from "chai";
import { setPaused } from "../../scripts/operator/pausing";
import { blockNumber, captureLog, decodeCalldata, KEYLESS, operatorError, simulateQuietly, statusOf, useLocalOpenPay } from "./support";

describe("operator: pause and unpause", function () {
  const world = useLocalOpenPay();

  it("pause stops deposits and unpause lets them in again", async function () {
    const { lines } = await captureLog(() => setPaused(hre, {}, true));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^pause: transaction 0x[0-9a-f]{64} in block \d+$/);
    expect((await world.escrow.settings()).paused).to.equal(true);
    expect((await world.escrow.tokenConfigOf(world.record.tokens.USDT.address)).paused).to.equal(true);

    const refused = await simulateQuietly({ scenario: "full", token: "USDT" });
    expect(refused.refused).to.equal("the escrow refused: DepositsPaused()");
    expect(await statusOf(world.escrow, refused.paymentId)).to.equal("none");

    await captureLog(() => setPaused(hre, {}, false));
    expect((await world.escrow.settings()).paused).to.equal(false);
    const paid = await simulateQuietly({ scenario: "full", token: "USDT" });
    expect(paid.refused).to.equal(undefined);
    expect(await statusOf(world.escrow, paid.paymentId)).to.equal("completed");
  });

  it("says the escrow is already paused, or already running, and sends nothing", async function () {
    const before = await blockNumber();
    const running = await captureLog(() => setPaused(hre, {}, false));
    expect(running.lines).to.deep.equal(["the escrow is already running; nothing sent"]);
    expect(running.result).to.equal(undefined);
    expect(await blockNumber()).to.equal(before);

    await captureLog(() => setPaused(hre, {}, true));
    const paused = await blockNumber();
    const again = await captureLog(() => setPaused(hre, {}, true));
    expect(again.lines).to.deep.equal(["the escrow is already paused; nothing sent"]);
    expect(await blockNumber()).to.equal(paused);
    expect((await world.escrow.settings()).paused).to.equal(true);
  });

  it("refuses a sender without PAUSER_ROLE, naming the role, and sends nothing", async function () {
    const before = await blockNumber();
    const message = await operatorError(setPaused(hre, { from: world.customer.address }, true));
    expect(message).to.equal(`${world.customer.address} does not hold PAUSER_ROLE on the escrow ${world.record.escrow}`);
    expect(await blockNumber()).to.equal(before);
    expect((await world.escrow.settings()).paused).to.equal(false);
  });

  it("sends from the pauser named by --from", async function () {
    // The pauser is account 0, also the default; --from picks it by a lower-case address too.
    await captureLog(() => setPaused(hre, { from: world.admin.address.toLowerCase() }, true));
    expect((await world.escrow.settings()).paused).to.equal(true);
  });

  it("--calldata prints pause() for a pauser without a key here (a hardware wallet), and sends nothing", async function () {
    await world.escrow.connect(world.admin).grantRole(await world.escrow.PAUSER_ROLE(), KEYLESS);
    const before = await blockNumber();
    const { lines } = await captureLog(() => setPaused(hre, { calldata: true, from: KEYLESS }, true));
    const { printed, call } = decodeCalldata(world.escrow, lines);
    expect(printed.to).to.equal(world.record.escrow);
    expect(printed.value).to.equal("0");
    expect(printed.method).to.equal("pause");
    expect(call.name).to.equal("pause");
    expect(await blockNumber()).to.equal(before);
    expect((await world.escrow.settings()).paused).to.equal(false);
  });
});
