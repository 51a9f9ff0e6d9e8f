// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestToken} from "./TestToken.sol";

/// @title FeeOnTransferToken
/// @author Open Pay
/// @notice Hostile token that burns 1% of every transfer, so the receiver gets less than was sent.
contract FeeOnTransferToken is TestToken {
    constructor() TestToken("Fee On Transfer", "FOT", 18) {}

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value / 100;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
