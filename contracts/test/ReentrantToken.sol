// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestToken} from "./TestToken.sol";

/// @title ReentrantToken
/// @author Open Pay
/// @notice Hostile token that calls back into a target (the escrow) during every transfer.
contract ReentrantToken is TestToken {
    address private _target;
    bytes private _data;

    constructor() TestToken("Reentrant", "RE", 18) {}

    /// @notice Sets the call made during transfers; test use only.
    /// @param target The contract to call.
    /// @param data The calldata.
    function setReentry(address target, bytes calldata data) external {
        _target = target;
        _data = data;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (_target != address(0) && from != address(0)) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory reason) = _target.call(_data);
            if (!ok) {
                // Bubble the escrow's revert up so the test sees which guard stopped the reentry.
                // solhint-disable-next-line no-inline-assembly
                assembly ("memory-safe") {
                    revert(add(reason, 32), mload(reason))
                }
            }
        }
    }
}
