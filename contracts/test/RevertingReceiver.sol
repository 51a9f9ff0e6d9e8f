// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title RevertingReceiver
/// @author Open Pay
/// @notice A payer contract that refuses BNB, so refunds pushed to it fail. Can relay calls as a payer.
contract RevertingReceiver {
    /// @notice Always refuses BNB.
    error RefusesNative();

    /// @notice Forwards a call with value, as a contract wallet would.
    /// @param target The contract to call.
    /// @param data The calldata.
    /// @return result The call's return data.
    function relay(address target, bytes calldata data) external payable returns (bytes memory result) {
        bool ok;
        (ok, result) = target.call{value: msg.value}(data);
        if (!ok) {
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// @notice Refuses every BNB transfer.
    receive() external payable {
        revert RefusesNative();
    }
}
