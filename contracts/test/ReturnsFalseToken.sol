// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestToken} from "./TestToken.sol";

/// @title ReturnsFalseToken
/// @author Open Pay
/// @notice Hostile token whose transfers move nothing and return false instead of reverting.
contract ReturnsFalseToken is TestToken {
    constructor() TestToken("Returns False", "RFT", 18) {}

    /// @notice Moves nothing and returns false.
    function transfer(address, uint256) public pure override returns (bool) {
        return false;
    }

    /// @notice Moves nothing and returns false.
    function transferFrom(address, address, uint256) public pure override returns (bool) {
        return false;
    }
}
