import { expect } from "chai";
import { encodeErrorResult, parseAbi } from "viem";
import { explainRevert } from "./revertReason";

const abi = parseAbi([
  "error DepositAfterExpiry(bytes32 paymentId, uint64 expiry, uint256 timestamp)",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
  "error RescueExceedsSurplus(address token, uint256 requested, uint256 surplus)",
  "error Error(string)",
]);
const ID = `0x${"11".repeat(32)}` as const;
const SPENDER = "0x00000000000000000000000000000000000000AA";

describe("explainRevert", function () {
  it("explains the escrow's deposit errors to the shopper and keeps the error with its values", function () {
    const data = encodeErrorResult({ abi, errorName: "DepositAfterExpiry", args: [ID, 1700000000n, 1700000100n] });
    expect(explainRevert(data)).to.equal(`the payment expired before the transaction arrived (DepositAfterExpiry(${ID}, 1700000000, 1700000100))`);
  });

  it("decodes the token's own errors (OpenZeppelin 5)", function () {
    const data = encodeErrorResult({ abi, errorName: "ERC20InsufficientAllowance", args: [SPENDER, 0n, 25000000n] });
    expect(explainRevert(data)).to.equal(`the token approval is smaller than the amount (ERC20InsufficientAllowance(${SPENDER}, 0, 25000000))`);
  });

  it("names an error it has no explanation for, and shows a revert string as it is", function () {
    const rescue = encodeErrorResult({ abi, errorName: "RescueExceedsSurplus", args: [SPENDER, 2n, 1n] });
    expect(explainRevert(rescue)).to.equal(`RescueExceedsSurplus(${SPENDER}, 2, 1)`);
    expect(explainRevert(encodeErrorResult({ abi, errorName: "Error", args: ["boom"] }))).to.equal("the transaction reverted: boom");
  });

  it("says so when there is no reason or one it cannot decode", function () {
    expect(explainRevert(undefined)).to.equal("the transaction reverted without a reason");
    expect(explainRevert("0x")).to.equal("the transaction reverted without a reason");
    expect(explainRevert("0xdeadbeef")).to.equal("the transaction reverted with data 0xdeadbeef");
  });
});
