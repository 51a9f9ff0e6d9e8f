import hre from "hardhat";
import { expect } from "chai";
import { parseEther, zeroAddress } from "viem";
import { refund, withdraw } from "../../scripts/operator/merchantFunds";
import { balanceIn, blockNumber, captureLog, decodeCalldata, operatorError, simulateQuietly, statusOf, useLocalOpenPay } from "./support";

describe("operator: withdraw and refund", function () {
  const world = useLocalOpenPay();
  const merchantOptions = () => ({ from: world.merchant.address });

  describe("withdraw", function () {
    it("sends an amount of the merchant's balance to its payout wallet", async function () {
      await simulateQuietly({ scenario: "full", token: "USDT", usd: "25" });
      const usdt = world.record.tokens.USDT.address;
      expect(await world.escrow.balanceOf(world.merchant.address, usdt)).to.equal(parseEther("25"));
      const payoutBefore = await balanceIn(world, "USDT", world.payout.address);

      const { lines } = await captureLog(() => withdraw(hre, { token: "USDT", amount: "10.5", ...merchantOptions() }));
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^withdraw: transaction 0x[0-9a-f]{64} in block \d+$/);
      expect(await balanceIn(world, "USDT", world.payout.address)).to.equal(payoutBefore + parseEther("10.5"));
      expect(await world.escrow.balanceOf(world.merchant.address, usdt)).to.equal(parseEther("14.5"));
    });

    it("--all sends the whole balance, here in BNB, with --from as a lower-case address", async function () {
      await simulateQuietly({ scenario: "over", token: "BNB", usd: "30" });
      const balance = await world.escrow.balanceOf(world.merchant.address, zeroAddress);
      expect(balance).to.equal(parseEther("0.075")); // 150% of $30 at $600
      const payoutBefore = await balanceIn(world, "BNB", world.payout.address);

      await captureLog(() => withdraw(hre, { token: "BNB", all: true, from: world.merchant.address.toLowerCase() }));
      expect(await balanceIn(world, "BNB", world.payout.address)).to.equal(payoutBefore + balance);
      expect(await world.escrow.balanceOf(world.merchant.address, zeroAddress)).to.equal(0n);
    });

    it("takes the token by its address", async function () {
      await simulateQuietly({ scenario: "full", token: "USDC", usd: "10" });
      const usdc = world.record.tokens.USDC.address;
      const balance = await world.escrow.balanceOf(world.merchant.address, usdc);
      await captureLog(() => withdraw(hre, { token: usdc.toLowerCase(), all: true, ...merchantOptions() }));
      expect(await balanceIn(world, "USDC", world.payout.address)).to.equal(balance);
    });

    it("refuses more than the balance, with both amounts", async function () {
      await simulateQuietly({ scenario: "full", token: "USDT", usd: "25" });
      const before = await blockNumber();
      expect(await operatorError(withdraw(hre, { token: "USDT", amount: "25.000000000000000001", ...merchantOptions() }))).to.equal(
        "--amount: 25.000000000000000001 USDT is more than the balance of 25",
      );
      expect(await blockNumber()).to.equal(before);
      expect(await world.escrow.balanceOf(world.merchant.address, world.record.tokens.USDT.address)).to.equal(parseEther("25"));
    });

    it("refuses an amount with more decimals than the token, zero, or no number, naming --amount", async function () {
      await simulateQuietly({ scenario: "full", token: "USDC", usd: "25" });
      expect(await operatorError(withdraw(hre, { token: "USDC", amount: "1.0000000000000000001", ...merchantOptions() }))).to.equal(
        "--amount: 1.0000000000000000001 has 19 decimals but USDC has 18",
      );
      expect(await operatorError(withdraw(hre, { token: "USDC", amount: "0", ...merchantOptions() }))).to.equal("--amount: must be more than zero");
      expect(await operatorError(withdraw(hre, { token: "USDC", amount: "ten", ...merchantOptions() }))).to.equal(
        '--amount: "ten" is not a decimal amount (digits, optionally a point and more digits)',
      );
      expect(await operatorError(withdraw(hre, { token: "USDC", ...merchantOptions() }))).to.equal("--amount is required");
    });

    it("refuses --all with nothing to withdraw", async function () {
      expect(await operatorError(withdraw(hre, { token: "USDT", all: true, ...merchantOptions() }))).to.equal(
        `${world.merchant.address} has no USDT balance to withdraw`,
      );
    });

    it("refuses a sender that is no merchant, pointing at --from", async function () {
      await simulateQuietly({ scenario: "full", token: "USDT" });
      expect(await operatorError(withdraw(hre, { token: "USDT", amount: "1" }))).to.equal(
        `${world.admin.address} is not a registered merchant (use --from with the merchant's key)`,
      );
    });

    it("refuses a token the escrow has not configured, and a symbol it does not know", async function () {
      const stranger = world.signers[15].address;
      expect(await operatorError(withdraw(hre, { token: stranger, amount: "1", ...merchantOptions() }))).to.equal(
        `${stranger} is not a token this escrow has configured`,
      );
      expect(await operatorError(withdraw(hre, { token: "DAI", amount: "1", ...merchantOptions() }))).to.equal(
        '--token: "DAI" is not an address (0x and 40 hex digits)',
      );
    });

    it("--calldata prints withdraw(token, amount) and sends nothing", async function () {
      await simulateQuietly({ scenario: "full", token: "USDT", usd: "25" });
      const usdt = world.record.tokens.USDT.address;
      const before = await blockNumber();
      const { lines } = await captureLog(() => withdraw(hre, { token: "USDT", amount: "2", calldata: true, ...merchantOptions() }));
      const { printed, call } = decodeCalldata(world.escrow, lines);
      expect(printed).to.include({ to: world.record.escrow, value: "0", method: "withdraw" });
      expect([...call.args]).to.deep.equal([usdt, parseEther("2")]);
      expect(await blockNumber()).to.equal(before);
      expect(await world.escrow.balanceOf(world.merchant.address, usdt)).to.equal(parseEther("25"));
    });
  });

  describe("refund", function () {
    it("refunds part, then the rest, of a completed payment from the merchant's balance", async function () {
      const paid = await simulateQuietly({ scenario: "full", token: "USDT", usd: "25" });
      const usdt = world.record.tokens.USDT.address;
      const customerBefore = await balanceIn(world, "USDT", world.customer.address);

      const { lines } = await captureLog(() => refund(hre, { payment: paid.paymentId, to: world.customer.address, amount: "5", ...merchantOptions() }));
      expect(lines[0]).to.match(/^refund: transaction 0x[0-9a-f]{64} in block \d+$/);
      expect(await world.escrow.refundedOf(paid.paymentId)).to.equal(parseEther("5"));
      expect(await statusOf(world.escrow, paid.paymentId)).to.equal("partially refunded");
      expect(await balanceIn(world, "USDT", world.customer.address)).to.equal(customerBefore + parseEther("5"));
      expect(await world.escrow.balanceOf(world.merchant.address, usdt)).to.equal(parseEther("20"));

      // A partially refunded payment can be refunded again.
      await captureLog(() => refund(hre, { payment: paid.paymentId, to: world.customer.address, amount: "20", ...merchantOptions() }));
      expect(await statusOf(world.escrow, paid.paymentId)).to.equal("refunded");
      expect(await balanceIn(world, "USDT", world.customer.address)).to.equal(customerBefore + parseEther("25"));
    });

    it("refunds in the payment's own token (BNB)", async function () {
      const paid = await simulateQuietly({ scenario: "full", token: "BNB", usd: "60" });
      const receiver = world.signers[16].address;
      const before = await balanceIn(world, "BNB", receiver);
      await captureLog(() => refund(hre, { payment: paid.paymentId, to: receiver, amount: "0.05", ...merchantOptions() }));
      expect(await balanceIn(world, "BNB", receiver)).to.equal(before + parseEther("0.05"));
    });

    it("refuses an unknown payment id", async function () {
      const unknown = `0x${"12".repeat(32)}`;
      expect(await operatorError(refund(hre, { payment: unknown, to: world.customer.address, amount: "1", ...merchantOptions() }))).to.equal(
        `--payment: unknown payment ${unknown} (the escrow has no deposit for it)`,
      );
    });

    it("refuses an open payment", async function () {
      const open = await simulateQuietly({ scenario: "partial", token: "USDT" });
      expect(await operatorError(refund(hre, { payment: open.paymentId, to: world.customer.address, amount: "1", ...merchantOptions() }))).to.equal(
        `--payment: payment ${open.paymentId} is open; only a paid payment can be refunded`,
      );
    });

    it("turns the escrow's refusal of a sender that is not the payment's merchant into one line", async function () {
      const paid = await simulateQuietly({ scenario: "full", token: "USDT" });
      const before = await blockNumber();
      const message = await operatorError(refund(hre, { payment: paid.paymentId, to: world.customer.address, amount: "1" }));
      expect(message).to.equal(`refund: the escrow refused: NotPaymentMerchant(paymentId=${paid.paymentId}, caller=${world.admin.address})`);
      expect(await blockNumber()).to.equal(before);
      expect(await world.escrow.refundedOf(paid.paymentId)).to.equal(0n);
    });

    it("turns the escrow's refusal of more than was paid into one line", async function () {
      await simulateQuietly({ scenario: "full", token: "USDT", usd: "100" }); // another payment fills the balance
      const paid = await simulateQuietly({ scenario: "full", token: "USDT", usd: "25" });
      const message = await operatorError(refund(hre, { payment: paid.paymentId, to: world.customer.address, amount: "26", ...merchantOptions() }));
      expect(message).to.equal(
        `refund: the escrow refused: RefundExceedsPayment(paymentId=${paid.paymentId}, requested=${parseEther("26")}, refundable=${parseEther("25")})`,
      );
    });

    it("refuses malformed options, naming each", async function () {
      const paid = await simulateQuietly({ scenario: "full", token: "USDT" });
      const to = world.customer.address;
      expect(await operatorError(refund(hre, { payment: "0x1234", to, amount: "1", ...merchantOptions() }))).to.equal(
        '--payment: "0x1234" is not a payment id (0x and 64 hex digits)',
      );
      expect(await operatorError(refund(hre, { payment: paid.paymentId, to: "customer", amount: "1", ...merchantOptions() }))).to.equal(
        '--to: "customer" is not an address (0x and 40 hex digits)',
      );
      expect(await operatorError(refund(hre, { payment: paid.paymentId, to, amount: "0.0000000000000000001", ...merchantOptions() }))).to.equal(
        "--amount: 0.0000000000000000001 has 19 decimals but USDT has 18",
      );
      expect(await operatorError(refund(hre, { payment: paid.paymentId, to, ...merchantOptions() }))).to.equal("--amount is required");
    });

    it("--calldata prints refund(payment, to, amount) and sends nothing", async function () {
      const paid = await simulateQuietly({ scenario: "full", token: "USDT" });
      const before = await blockNumber();
      const { lines } = await captureLog(() =>
        refund(hre, { payment: paid.paymentId, to: world.customer.address, amount: "3", calldata: true, ...merchantOptions() }),
      );
      const { printed, call } = decodeCalldata(world.escrow, lines);
      expect(printed).to.include({ to: world.record.escrow, method: "refund" });
      expect([...call.args]).to.deep.equal([paid.paymentId, world.customer.address, parseEther("3")]);
      expect(await blockNumber()).to.equal(before);
      expect(await statusOf(world.escrow, paid.paymentId)).to.equal("completed");
    });
  });
});
