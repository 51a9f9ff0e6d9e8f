// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/shared/mocks/MockV3Aggregator.sol";

import {IOpenPayEscrow} from "../../contracts/interfaces/IOpenPayEscrow.sol";
import {IOpenPayEscrowCommon} from "../../contracts/interfaces/IOpenPayEscrowCommon.sol";
import {TestToken} from "../../contracts/test/TestToken.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";

/// @title A deposit completes a payment if and only if its value is within the tolerance
/// @notice For fuzzed token and feed decimals, prices, payment amounts and tolerances, the fewest token units whose
/// value (computed here independently) reaches amount × (1 − tolerance) complete the payment; one unit fewer leaves
/// it open with the deposit refundable. Completion credits the merchant with everything paid; an open payment
/// reports exactly what is still due.
contract PaymentCompletesIffWithinToleranceTest is EscrowTestBase {
    struct Setup {
        address token; // zero for BNB
        uint8 decimals;
        uint8 feedDecimals;
        uint256 price;
        uint256 amountUsd;
        uint16 toleranceBps;
    }

    function testFuzz_depositsAroundTheToleranceBoundary(
        uint256 amountUsd,
        uint256 price,
        uint16 toleranceBps,
        uint8 decimals,
        uint8 feedDecimals,
        bool native,
        uint256 offset
    ) public {
        Setup memory s = _setup(amountUsd, price, toleranceBps, decimals, feedDecimals, native);
        uint256 fewest = _fewestCovering(s);
        // From two units short of the boundary to two units past it.
        uint256 amount = fewest + bound(offset, 0, 4);
        if (amount < 3) amount = 1;
        else amount -= 2;
        _payAndCheck(s, amount, amount >= fewest);
    }

    function testFuzz_anyDepositCompletesIffWithinTolerance(
        uint256 amountUsd,
        uint256 price,
        uint16 toleranceBps,
        uint8 decimals,
        uint8 feedDecimals,
        bool native,
        uint256 amount
    ) public {
        Setup memory s = _setup(amountUsd, price, toleranceBps, decimals, feedDecimals, native);
        uint256 fewest = _fewestCovering(s);
        amount = bound(amount, 1, fewest * 3);
        _payAndCheck(s, amount, amount >= fewest);
    }

    /// @dev A token (or BNB) with the given decimals on a fresh feed with the given decimals and price.
    function _setup(
        uint256 amountUsd,
        uint256 price,
        uint16 toleranceBps,
        uint8 decimals,
        uint8 feedDecimals,
        bool native
    ) internal returns (Setup memory s) {
        s.decimals = native ? 18 : uint8(bound(decimals, 0, 18));
        s.feedDecimals = uint8(bound(feedDecimals, 0, 18));
        uint256 one = 10 ** s.feedDecimals;
        // From $0.001 (or the smallest price the feed can express) to $1,000,000 per whole token.
        s.price = bound(price, one / 1000 == 0 ? 1 : one / 1000, one * 1e6);
        s.amountUsd = bound(amountUsd, 1, 1e9 * USD);
        s.toleranceBps = uint16(bound(toleranceBps, 0, 500));

        s.token = native ? address(0) : address(new TestToken("Fuzz", "FZ", s.decimals));
        MockV3Aggregator feed = new MockV3Aggregator(s.feedDecimals, int256(s.price));
        vm.startPrank(admin);
        escrow.setToken(s.token, address(feed), STALENESS);
        escrow.setTolerance(s.token, s.toleranceBps);
        vm.stopPrank();
    }

    /// @dev Fewest token units t with floor(t × price × 10^18 / 10^(decimals + feedDecimals)) × 10,000 ≥
    /// amountUsd × (10,000 − tolerance), i.e. value ≥ ceil(amountUsd × (10,000 − tolerance) / 10,000).
    function _fewestCovering(Setup memory s) internal pure returns (uint256) {
        uint256 neededUsd = (s.amountUsd * (10_000 - s.toleranceBps) + 9_999) / 10_000;
        uint256 numerator = neededUsd * 10 ** (uint256(s.decimals) + s.feedDecimals);
        uint256 denominator = s.price * 1e18;
        return (numerator + denominator - 1) / denominator;
    }

    function _payAndCheck(Setup memory s, uint256 amount, bool shouldComplete) internal {
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(s.amountUsd);
        intent.acceptedTokens = tokenBit(s.token); // BNB, or the token configured for this run alone
        bytes memory signature = sign(SIGNER_KEY, intent);
        uint256 valueUsd = expectedUsd(amount, s.price, s.decimals, s.feedDecimals);
        assertEq(escrow.quoteUsd(s.token, amount), valueUsd, "quote differs from the independent valuation");
        assertEq(
            valueUsd * 10_000 >= s.amountUsd * (10_000 - s.toleranceBps), shouldComplete, "fewest-units arithmetic"
        );

        if (s.token == address(0)) {
            vm.deal(payer, amount);
            vm.prank(payer);
            escrow.payNative{value: amount}(intent, signature, address(0));
        } else {
            payAs(payer, intent, signature, TestToken(s.token), amount);
        }

        IOpenPayEscrowCommon.Payment memory stored = escrow.paymentOf(intent.paymentId);
        assertEq(stored.amount, amount, "amount");
        assertEq(stored.receivedUsd, valueUsd, "receivedUsd");
        assertEq(escrow.ledgerOf(s.token).owed, amount, "owed");
        if (shouldComplete) {
            assertEq(uint256(stored.status), uint256(IOpenPayEscrowCommon.Status.Completed), "should have completed");
            assertEq(escrow.balanceOf(merchant, s.token), amount, "merchant not credited with everything paid");
            assertEq(escrow.depositOf(intent.paymentId, s.token, payer), 0, "deposit still refundable");
            assertEq(escrow.remainingUsd(intent), 0, "remaining after completion");
        } else {
            assertEq(uint256(stored.status), uint256(IOpenPayEscrowCommon.Status.Open), "should have stayed open");
            assertEq(escrow.balanceOf(merchant, s.token), 0, "merchant credited for an underpayment");
            assertEq(escrow.depositOf(intent.paymentId, s.token, payer), amount, "deposit not refundable");
            assertEq(escrow.remainingUsd(intent), s.amountUsd - valueUsd, "remaining");
        }
    }
}
