// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";

import {PriceMathHarness} from "./utils/PriceMathHarness.sol";

/// @title PriceMath.covers: received × 10,000 ≥ amount × (10,000 − tolerance), exactly
/// @notice The tolerance boundary has no rounding slack: the smallest covering receipt is
/// ceil(amount × (10,000 − tolerance) / 10,000), and one wei of USD less does not cover.
contract PriceMathCoversBoundaryIsExactTest is Test {
    uint256 internal constant BPS = 10_000;

    PriceMathHarness internal math;

    function setUp() public {
        math = new PriceMathHarness();
    }

    function testFuzz_coversIsTheCrossMultipliedComparison(uint256 received, uint256 amountUsd, uint256 toleranceBps)
        public
    {
        received = bound(received, 0, type(uint104).max);
        amountUsd = bound(amountUsd, 0, type(uint104).max);
        toleranceBps = bound(toleranceBps, 0, BPS);
        assertEq(math.covers(received, amountUsd, toleranceBps), received * BPS >= amountUsd * (BPS - toleranceBps));
    }

    function testFuzz_smallestCoveringReceiptIsExact(uint256 amountUsd, uint256 toleranceBps) public {
        amountUsd = bound(amountUsd, 1, type(uint104).max);
        toleranceBps = bound(toleranceBps, 0, BPS - 1);
        uint256 threshold = amountUsd * (BPS - toleranceBps);
        uint256 smallest = (threshold + BPS - 1) / BPS;
        assertTrue(math.covers(smallest, amountUsd, toleranceBps), "smallest receipt does not cover");
        assertFalse(math.covers(smallest - 1, amountUsd, toleranceBps), "one wei less still covers");
    }

    function testFuzz_coversIsMonotonicInReceivedAndTolerance(
        uint256 received,
        uint256 more,
        uint256 amountUsd,
        uint256 toleranceBps,
        uint256 looser
    ) public {
        received = bound(received, 0, type(uint104).max);
        more = bound(more, received, type(uint104).max);
        amountUsd = bound(amountUsd, 0, type(uint104).max);
        toleranceBps = bound(toleranceBps, 0, BPS);
        looser = bound(looser, toleranceBps, BPS);
        if (math.covers(received, amountUsd, toleranceBps)) {
            assertTrue(math.covers(more, amountUsd, toleranceBps), "receiving more stopped covering");
            assertTrue(math.covers(received, amountUsd, looser), "a looser tolerance stopped covering");
        }
    }

    function test_onePercentOfOneHundredDollars() public {
        assertTrue(math.covers(99e18, 100e18, 100));
        assertFalse(math.covers(99e18 - 1, 100e18, 100));
        assertTrue(math.covers(100e18, 100e18, 0));
        assertFalse(math.covers(100e18 - 1, 100e18, 0));
    }
}
