// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {IPriceFeedErrors} from "./interfaces/IPriceFeedErrors.sol";

/// @title BoundedPriceFeed
/// @author Open Pay
/// @notice A Chainlink feed as the escrow reads it, refusing every answer outside a band the admin deems sane: a
/// stablecoin's feed at $0.50, or an aggregator stuck at its `minAnswer` floor while the market is far below it,
/// would otherwise value payments at a price nobody can trade at.
/// @dev Optional, per token: the admin deploys one around a token's Chainlink proxy and names it as the token's feed
/// in `setToken` (whose `TokenConfigured` event announces it); a token configured with the proxy itself has no band
/// and pays nothing for this. The band is immutable: a new band is a new feed, announced the same way. Everything
/// else (decimals, staleness, rounds) is the underlying feed's, passed on unchanged, so that the escrow's own checks
/// apply to it as to any feed. Its refusal, `PriceOutsideBand`, is one of the escrow's price errors, so that a
/// reverted payment decodes with the escrow's ABI.
contract BoundedPriceFeed is AggregatorV3Interface, IPriceFeedErrors {
    /// @notice The Chainlink feed whose answers are passed on.
    AggregatorV3Interface public immutable FEED;

    /// @notice The lowest answer passed on, in the feed's decimals.
    int256 public immutable MIN_ANSWER;

    /// @notice The highest answer passed on, in the feed's decimals.
    int256 public immutable MAX_ANSWER;

    /// @notice The band cannot hold a price: its lower end is not positive or not below its upper end.
    /// @param minAnswer The lower end asked for.
    /// @param maxAnswer The upper end asked for.
    error InvalidBand(int256 minAnswer, int256 maxAnswer);

    /// @notice No feed was named.
    error ZeroFeed();

    /// @notice Bounds `feed` to answers from `minAnswer` to `maxAnswer`, both included, in the feed's decimals.
    /// @param feed The Chainlink feed (its proxy).
    /// @param minAnswer The lowest answer accepted; above zero.
    /// @param maxAnswer The highest answer accepted; above `minAnswer`.
    constructor(AggregatorV3Interface feed, int256 minAnswer, int256 maxAnswer) {
        if (address(feed) == address(0)) revert ZeroFeed();
        if (minAnswer <= 0 || minAnswer >= maxAnswer) revert InvalidBand(minAnswer, maxAnswer);
        FEED = feed;
        MIN_ANSWER = minAnswer;
        MAX_ANSWER = maxAnswer;
    }

    /// @notice The underlying feed's decimals, read on every call: the escrow compares them with those it recorded.
    /// @return The decimals of every answer.
    function decimals() external view returns (uint8) {
        return FEED.decimals();
    }

    /// @notice The underlying feed's description.
    /// @return The description.
    function description() external view returns (string memory) {
        return FEED.description();
    }

    /// @notice The underlying feed's version.
    /// @return The version.
    function version() external view returns (uint256) {
        return FEED.version();
    }

    /// @notice A past round of the underlying feed, refused if its answer is outside the band.
    /// @param roundId The round.
    /// @return The round's id, answer, start, update time and the round it was answered in.
    function getRoundData(uint80 roundId) external view returns (uint80, int256, uint256, uint256, uint80) {
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            FEED.getRoundData(roundId);
        _requireInBand(answer);
        return (id, answer, startedAt, updatedAt, answeredInRound);
    }

    /// @notice The underlying feed's latest round, refused if its answer is outside the band.
    /// @return The round's id, answer, start, update time and the round it was answered in.
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            FEED.latestRoundData();
        _requireInBand(answer);
        return (id, answer, startedAt, updatedAt, answeredInRound);
    }

    /// @dev Reverts unless `answer` lies in the band, ends included.
    function _requireInBand(int256 answer) private view {
        if (answer < MIN_ANSWER || answer > MAX_ANSWER) {
            revert PriceOutsideBand(address(FEED), answer, MIN_ANSWER, MAX_ANSWER);
        }
    }
}
