// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestToken} from "./TestToken.sol";

/// @title BlacklistToken
/// @author Open Pay
/// @notice Token that, like USDT and USDC, reverts every transfer from or to a blacklisted address.
contract BlacklistToken is TestToken {
    /// @notice The address is blacklisted.
    /// @param account The address.
    error Blacklisted(address account);

    /// @notice Whether an address is blacklisted.
    mapping(address account => bool) public blacklisted;

    constructor() TestToken("Blacklisting USD", "BUSD", 18) {}

    /// @notice Blacklists or clears an address; test use only.
    /// @param account The address.
    /// @param value Whether it is blacklisted.
    function setBlacklisted(address account, bool value) external {
        blacklisted[account] = value;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blacklisted[from]) revert Blacklisted(from);
        if (blacklisted[to]) revert Blacklisted(to);
        super._update(from, to, value);
    }
}
