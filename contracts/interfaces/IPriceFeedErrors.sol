// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IPriceFeedErrors
/// @author Open Pay
/// @notice Why a Chainlink price was refused (`PriceMath.freshPrice`): declared apart so that the escrow's
/// interface carries them for every caller that decodes a revert.
interface IPriceFeedErrors {
    /// @notice The feed answered zero or a negative price.
    /// @param feed The feed.
    /// @param answer Its answer.
    error PriceNotPositive(address feed, int256 answer);

    /// @notice The feed's answer is dated after the current block.
    /// @param feed The feed.
    /// @param updatedAt When the answer claims to be from.
    /// @param timestamp The current block time.
    error PriceFromFuture(address feed, uint256 updatedAt, uint256 timestamp);

    /// @notice The feed's answer is older than the token's staleness limit.
    /// @param feed The feed.
    /// @param updatedAt When the answer was written.
    /// @param staleBy Seconds beyond the limit.
    /// @param maxStaleness The limit.
    error StalePrice(address feed, uint256 updatedAt, uint256 staleBy, uint256 maxStaleness);

    /// @notice The feed now answers in other decimals than it did when the token was configured: every value it
    /// gave would be off by a power of ten.
    /// @param feed The feed.
    /// @param expected The decimals recorded when the token was configured.
    /// @param actual The decimals the feed reports now.
    error FeedDecimalsChanged(address feed, uint8 expected, uint8 actual);

    /// @notice The feed answered outside the band the admin set for the token (`BoundedPriceFeed`): no payment may
    /// be valued at that price.
    /// @param feed The underlying feed.
    /// @param answer Its answer.
    /// @param minAnswer The lowest answer accepted.
    /// @param maxAnswer The highest answer accepted.
    error PriceOutsideBand(address feed, int256 answer, int256 minAnswer, int256 maxAnswer);
}
