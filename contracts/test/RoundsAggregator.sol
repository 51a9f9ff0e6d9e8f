// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title RoundsAggregator
/// @author Open Pay
/// @notice A Chainlink-style aggregator: numbered rounds, each with its answer and times, in fixed decimals.
/// Stands in for an OCR aggregator behind a feed proxy in tests and the mainnet rehearsal; never deployed on a chain.
contract RoundsAggregator is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint64 startedAt;
        uint64 updatedAt;
    }

    /// @notice Only the deployer may report answers.
    /// @param caller The caller.
    error NotReporter(address caller);

    /// @notice No such round.
    /// @param roundId The round asked for.
    error NoRound(uint80 roundId);

    uint8 private immutable _DECIMALS;

    /// @notice The latest round's id.
    uint80 public latestRound;

    address private immutable _REPORTER;
    string private _description;
    mapping(uint80 roundId => Round) private _rounds;

    /// @notice Deploys the aggregator with its decimals and a description such as "BNB / USD".
    /// @param decimals_ Decimals of every answer.
    /// @param description_ What the feed prices.
    constructor(uint8 decimals_, string memory description_) {
        _DECIMALS = decimals_;
        _description = description_;
        _REPORTER = msg.sender;
    }

    /// @notice Opens a new round with `answer`, updated at the current block's time.
    /// @param answer The price, in `decimals`.
    function report(int256 answer) external {
        reportAt(answer, block.timestamp);
    }

    /// @notice Opens a new round with `answer`, dated `updatedAt` (an older answer, for staleness tests).
    /// @param answer The price, in `decimals`.
    /// @param updatedAt When the round claims to be from.
    function reportAt(int256 answer, uint256 updatedAt) public {
        if (msg.sender != _REPORTER) revert NotReporter(msg.sender);
        uint80 id = ++latestRound;
        _rounds[id] = Round({answer: answer, startedAt: uint64(updatedAt), updatedAt: uint64(updatedAt)});
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view override returns (uint8) {
        return _DECIMALS;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view override returns (string memory) {
        return _description;
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external pure override returns (uint256) {
        return 4;
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 roundId)
        public
        view
        override
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80)
    {
        Round memory round = _rounds[roundId];
        if (round.updatedAt == 0) revert NoRound(roundId);
        return (roundId, round.answer, round.startedAt, round.updatedAt, roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        return getRoundData(latestRound);
    }
}
