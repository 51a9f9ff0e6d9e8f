// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IPriceFeedErrors} from "../interfaces/IPriceFeedErrors.sol";

/// @title PriceMath
/// @author Open Pay
/// @notice Reads Chainlink USD prices safely and values token amounts in USD with 18 decimals.
library PriceMath {
    /// @notice Decimals of every USD amount in Open Pay.
    uint8 internal constant USD_DECIMALS = 18;

    /// @notice Basis points in one whole.
    uint256 internal constant BPS = 10_000;

    /// @notice Returns the feed's latest answer after checking that it is in the expected decimals, positive, not
    /// from the future and fresh.
    /// @param feed The Chainlink feed.
    /// @param maxStaleness Longest accepted age of the answer, in seconds.
    /// @param feedDecimals The decimals the answer must be in (a proxy's aggregator can be replaced).
    /// @return price The answer, in `feedDecimals`.
    function freshPrice(address feed, uint256 maxStaleness, uint8 feedDecimals) internal view returns (uint256 price) {
        uint8 decimals = AggregatorV3Interface(feed).decimals();
        if (decimals != feedDecimals) revert IPriceFeedErrors.FeedDecimalsChanged(feed, feedDecimals, decimals);
        (, int256 answer,, uint256 updatedAt,) = AggregatorV3Interface(feed).latestRoundData();
        if (answer <= 0) revert IPriceFeedErrors.PriceNotPositive(feed, answer);
        if (updatedAt > block.timestamp) revert IPriceFeedErrors.PriceFromFuture(feed, updatedAt, block.timestamp);
        uint256 age = block.timestamp - updatedAt;
        if (age > maxStaleness) revert IPriceFeedErrors.StalePrice(feed, updatedAt, age - maxStaleness, maxStaleness);
        price = uint256(answer);
    }

    /// @notice Values `amount` token units in USD with 18 decimals, rounding down (never in the payer's favour).
    /// @param amount Token units.
    /// @param price The token's USD price in `feedDecimals`.
    /// @param tokenDecimals Decimals of the token.
    /// @param feedDecimals Decimals of the price.
    /// @return The USD value.
    function usdValue(uint256 amount, uint256 price, uint8 tokenDecimals, uint8 feedDecimals)
        internal
        pure
        returns (uint256)
    {
        uint256 scale = uint256(tokenDecimals) + feedDecimals;
        if (scale >= USD_DECIMALS) return Math.mulDiv(amount, price, 10 ** (scale - USD_DECIMALS));
        return amount * price * 10 ** (USD_DECIMALS - scale);
    }

    /// @notice Whether `receivedUsd` pays `amountUsd` within a tolerance: received ≥ amount × (1 − tolerance).
    /// @dev Compared without division, so the boundary is exact.
    /// @param receivedUsd USD received.
    /// @param amountUsd USD asked.
    /// @param toleranceBps Tolerance in basis points.
    /// @return Whether the payment is complete.
    function covers(uint256 receivedUsd, uint256 amountUsd, uint256 toleranceBps) internal pure returns (bool) {
        return receivedUsd * BPS >= amountUsd * (BPS - toleranceBps);
    }
}
