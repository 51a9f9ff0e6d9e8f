// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/shared/mocks/MockV3Aggregator.sol";

import {IOpenPayEscrow} from "../../contracts/interfaces/IOpenPayEscrow.sol";
import {IOpenPayEscrowCommon} from "../../contracts/interfaces/IOpenPayEscrowCommon.sol";
import {TestToken} from "../../contracts/test/TestToken.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";

/// @title Partial deposits add up: received + remaining = amount, everything received valued at today's price
/// @notice Up to five partial deposits by two payers, each at a different (fresh) price: after every deposit that
/// leaves the payment open, receivedUsd is the value of all the units received at that deposit's price (a payer
/// who waits bears the price change), remainingUsd is the amount less that, and each payer's refundable deposit is
/// what it paid. The deposit that reaches the tolerance at today's price completes the payment and credits the
/// merchant with every deposit.
contract PartialDepositsAccumulateTest is EscrowTestBase {
    address internal constant SECOND_PAYER = address(0xBEEF);

    struct Run {
        IOpenPayEscrowCommon.PaymentIntent intent;
        bytes signature;
        address token;
        uint8 decimals;
        MockV3Aggregator feed;
        uint256 receivedUsd;
        uint256 amount;
        uint256[2] byPayer;
        bool completed;
    }

    function testFuzz_receivedAndRemainingTrackEveryPartialDeposit(
        uint256 amountUsd,
        uint8 tokenChoice,
        uint16[5] memory shares,
        uint32[5] memory prices
    ) public {
        Run memory r;
        tokenChoice = tokenChoice % 3;
        (r.token, r.decimals, r.feed) = tokenChoice == 0
            ? (address(usd6), uint8(6), usd6Feed)
            : tokenChoice == 1 ? (address(usd18), uint8(18), usd18Feed) : (address(0), uint8(18), bnbFeed);
        r.intent = newIntent(bound(amountUsd, 1e15, 1e24));
        r.signature = sign(SIGNER_KEY, r.intent);

        for (uint256 i; i < shares.length && !r.completed; ++i) {
            vm.warp(block.timestamp + 1 minutes);
            uint256 price = r.token == address(0) ? bound(prices[i], 200e8, 1_000e8) : bound(prices[i], 0.9e8, 1.1e8);
            r.feed.updateAnswer(int256(price));

            uint256 worth = expectedUsd(r.amount, price, r.decimals, FEED_DECIMALS);
            uint256 remaining = worth < r.intent.amountUsd ? r.intent.amountUsd - worth : 0;
            // The last deposit pays the rest; the others pay 0.01%–90% of it (rounded down to whole units).
            uint256 amount = i == shares.length - 1
                ? _unitsFor(remaining, price, r.decimals, true)
                : _unitsFor(remaining * bound(shares[i], 1, 9_000) / 10_000, price, r.decimals, false);
            if (amount == 0) amount = 1;
            _deposit(r, i % 2, amount, price);
        }
        assertTrue(r.completed, "paying the rest did not complete the payment");
    }

    function _deposit(Run memory r, uint256 who, uint256 amount, uint256 price) internal {
        address from = who == 0 ? payer : SECOND_PAYER;
        if (r.token == address(0)) {
            vm.deal(from, amount);
            vm.prank(from);
            escrow.payNative{value: amount}(r.intent, r.signature, address(0));
        } else {
            payAs(from, r.intent, r.signature, TestToken(r.token), amount);
        }
        r.amount += amount;
        r.receivedUsd = expectedUsd(r.amount, price, r.decimals, FEED_DECIMALS);
        r.byPayer[who] += amount;
        r.completed = r.receivedUsd * 10_000 >= r.intent.amountUsd * (10_000 - escrow.tokenConfigOf(r.token).toleranceBps);

        IOpenPayEscrowCommon.Payment memory stored = escrow.paymentOf(r.intent.paymentId);
        assertEq(stored.receivedUsd, r.receivedUsd, "receivedUsd is not all units received at today's price");
        assertEq(stored.amount, r.amount, "amount is not the sum of the deposits");
        assertEq(escrow.ledgerOf(r.token).owed, r.amount, "owed");
        if (r.completed) {
            assertEq(uint256(stored.status), uint256(IOpenPayEscrowCommon.Status.Completed), "status");
            assertEq(escrow.remainingUsd(r.intent), 0, "remaining after completion");
            assertEq(escrow.balanceOf(merchant, r.token), r.amount, "merchant not credited with every deposit");
            assertEq(escrow.depositOf(r.intent.paymentId, r.token, payer), 0, "first payer still refundable");
            assertEq(escrow.depositOf(r.intent.paymentId, r.token, SECOND_PAYER), 0, "second payer still refundable");
        } else {
            assertEq(uint256(stored.status), uint256(IOpenPayEscrowCommon.Status.Open), "status");
            assertEq(escrow.remainingUsd(r.intent), r.intent.amountUsd - r.receivedUsd, "remaining");
            assertEq(escrow.depositOf(r.intent.paymentId, r.token, payer), r.byPayer[0], "first payer's deposit");
            assertEq(escrow.depositOf(r.intent.paymentId, r.token, SECOND_PAYER), r.byPayer[1], "second payer's deposit");
            assertEq(escrow.balanceOf(merchant, r.token), 0, "merchant credited early");
        }
    }

    /// @dev Token units worth `usd` at `price` (8-decimal feed), rounded up or down.
    function _unitsFor(uint256 usd, uint256 price, uint8 decimals, bool up) internal pure returns (uint256) {
        uint256 numerator = usd * 10 ** (uint256(decimals) + FEED_DECIMALS);
        uint256 denominator = price * 1e18;
        return up ? (numerator + denominator - 1) / denominator : numerator / denominator;
    }
}
