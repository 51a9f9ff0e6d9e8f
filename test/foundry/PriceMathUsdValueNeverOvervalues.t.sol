// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";

import {PriceMathHarness} from "./utils/PriceMathHarness.sol";

/// @title PriceMath.usdValue rounds down, never in the payer's favour
/// @notice For every token and feed precision the escrow accepts (up to 36 decimals each), the USD value is the
/// exact value rounded down: never more, and less by under one wei of USD. It grows with the amount, and splitting a
/// payment into two deposits can only lose value to rounding, never gain it.
contract PriceMathUsdValueNeverOvervaluesTest is Test {
    PriceMathHarness internal math;

    function setUp() public {
        math = new PriceMathHarness();
    }

    function testFuzz_usdValueIsTheExactValueRoundedDown(
        uint256 amount,
        uint256 price,
        uint8 tokenDecimals,
        uint8 feedDecimals
    ) public {
        (amount, price, tokenDecimals, feedDecimals) = _bounded(amount, price, tokenDecimals, feedDecimals);
        uint256 value = math.usdValue(amount, price, tokenDecimals, feedDecimals);
        uint256 scale = uint256(tokenDecimals) + feedDecimals;
        uint256 product = amount * price; // the value with `scale` decimals, exact (< 2^200)
        if (scale >= 18) {
            uint256 unit = 10 ** (scale - 18);
            assertLe(value * unit, product, "overvalues");
            assertGt((value + 1) * unit, product, "undervalues by a whole wei or more");
        } else {
            assertEq(value, product * 10 ** (18 - scale), "not exact");
        }
    }

    function testFuzz_usdValueIsMonotonicInAmount(
        uint256 smaller,
        uint256 larger,
        uint256 price,
        uint8 tokenDecimals,
        uint8 feedDecimals
    ) public {
        (larger, price, tokenDecimals, feedDecimals) = _bounded(larger, price, tokenDecimals, feedDecimals);
        smaller = bound(smaller, 0, larger);
        assertLe(
            math.usdValue(smaller, price, tokenDecimals, feedDecimals),
            math.usdValue(larger, price, tokenDecimals, feedDecimals),
            "more tokens valued lower"
        );
    }

    function testFuzz_splittingADepositNeverGainsValue(
        uint256 first,
        uint256 second,
        uint256 price,
        uint8 tokenDecimals,
        uint8 feedDecimals
    ) public {
        uint256 total;
        (total, price, tokenDecimals, feedDecimals) = _bounded(first, price, tokenDecimals, feedDecimals);
        first = bound(first, 0, total);
        second = total - first;
        uint256 whole = math.usdValue(total, price, tokenDecimals, feedDecimals);
        uint256 split =
            math.usdValue(first, price, tokenDecimals, feedDecimals) + math.usdValue(second, price, tokenDecimals, feedDecimals);
        assertLe(split, whole, "two deposits worth more than one");
        assertLe(whole - split, 1, "splitting lost more than one wei of USD");
    }

    function test_valuesKnownAmounts() public {
        // 1 unit of a 6-decimal stablecoin at $0.99999999 (8-decimal feed).
        assertEq(math.usdValue(1, 99_999_999, 6, 8), 999_999_990_000);
        // 1 wei of BNB at $600.12345678: 600.12345678e-18 USD, rounded down to 600 wei of USD.
        assertEq(math.usdValue(1, 60_012_345_678, 18, 8), 600);
        // 2.5 BNB at $600.
        assertEq(math.usdValue(2.5e18, 600e8, 18, 8), 1_500e18);
        // 36-decimal token and feed.
        assertEq(math.usdValue(3e36, 2e36, 36, 36), 6e18);
    }

    /// @dev Decimals as the escrow accepts them (at most 36 each); amounts and prices small enough that the exact
    /// value fits in 256 bits.
    function _bounded(uint256 amount, uint256 price, uint8 tokenDecimals, uint8 feedDecimals)
        internal
        returns (uint256, uint256, uint8, uint8)
    {
        tokenDecimals = uint8(bound(tokenDecimals, 0, 36));
        feedDecimals = uint8(bound(feedDecimals, 0, 36));
        amount = bound(amount, 0, type(uint104).max);
        // Below 18 combined decimals the value is multiplied by up to 10^18 (< 2^60): keep it under 2^256.
        uint256 maxPrice = uint256(tokenDecimals) + feedDecimals < 18 ? type(uint64).max : type(uint96).max;
        price = bound(price, 1, maxPrice);
        return (amount, price, tokenDecimals, feedDecimals);
    }
}
