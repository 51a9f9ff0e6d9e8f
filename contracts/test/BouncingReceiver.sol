// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// The bounce in `receive` is the hostile behaviour under test.
// solhint-disable no-complex-fallback

/// @title BouncingReceiver
/// @author Open Pay
/// @notice A payer contract that sends every BNB it receives straight back to its sender, as a hostile refund
/// receiver would to turn a refund into BNB the escrow holds but no longer owes. Can relay calls as a payer.
contract BouncingReceiver {
    /// @notice Whether the last bounce was accepted by the sender.
    bool public lastBounceAccepted;

    /// @notice How many bounces were tried.
    uint256 public bounces;

    /// @notice Forwards a call with value, as a contract wallet would.
    /// @param target The contract to call.
    /// @param data The calldata.
    function relay(address target, bytes calldata data) external payable {
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory result) = target.call{value: msg.value}(data);
        if (!ok) {
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// @notice Sends the BNB back to whoever sent it, keeping it if the sender refuses.
    receive() external payable {
        // solhint-disable-next-line avoid-low-level-calls
        (bool accepted,) = msg.sender.call{value: msg.value}("");
        lastBounceAccepted = accepted;
        ++bounces;
    }
}
