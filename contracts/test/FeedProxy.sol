// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title FeedProxy
/// @author Open Pay
/// @notice A Chainlink-style feed proxy: consumers read one address while its owner moves it to a new aggregator (a
/// new phase). As on Chainlink, a round id is the phase in its top 16 bits and the aggregator's round below, and the
/// decimals are the current aggregator's: a replaced aggregator may answer in other decimals.
contract FeedProxy is AggregatorV3Interface {
    /// @notice Only the owner may change the aggregator.
    /// @param caller The caller.
    error NotOwner(address caller);

    address private immutable _OWNER;

    /// @notice The current phase (1 for the first aggregator).
    uint16 public phaseId;

    /// @notice The aggregator of each phase.
    mapping(uint16 phase => AggregatorV3Interface aggregator) public phaseAggregators;

    /// @notice Deploys the proxy over its first aggregator.
    /// @param first The first phase's aggregator.
    constructor(AggregatorV3Interface first) {
        _OWNER = msg.sender;
        _setAggregator(first);
    }

    /// @notice Moves the feed to a new aggregator (Chainlink's proposeAggregator and confirmAggregator in one).
    /// @param next The new phase's aggregator.
    function setAggregator(AggregatorV3Interface next) external {
        if (msg.sender != _OWNER) revert NotOwner(msg.sender);
        _setAggregator(next);
    }

    /// @notice The current aggregator.
    /// @return The aggregator of the current phase.
    function aggregator() public view returns (AggregatorV3Interface) {
        return phaseAggregators[phaseId];
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view override returns (uint8) {
        return aggregator().decimals();
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view override returns (string memory) {
        return aggregator().description();
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external view override returns (uint256) {
        return aggregator().version();
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 roundId) external view override returns (uint80, int256, uint256, uint256, uint80) {
        uint16 phase = uint16(roundId >> 64);
        (, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredIn) =
            phaseAggregators[phase].getRoundData(uint64(roundId));
        return (roundId, answer, startedAt, updatedAt, _phaseRound(phase, answeredIn));
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        uint16 phase = phaseId;
        (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredIn) =
            phaseAggregators[phase].latestRoundData();
        return (_phaseRound(phase, roundId), answer, startedAt, updatedAt, _phaseRound(phase, answeredIn));
    }

    function _setAggregator(AggregatorV3Interface next) private {
        phaseAggregators[++phaseId] = next;
    }

    function _phaseRound(uint16 phase, uint80 round) private pure returns (uint80) {
        return uint80(uint256(phase) << 64 | uint64(round));
    }
}
