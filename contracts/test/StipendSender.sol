// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title StipendSender
/// @author Open Pay
/// @notice A contract wallet that pays with Solidity's `transfer`, which gives the receiver only the 2,300-gas
/// stipend and reverts if the receiver fails: the kind of sender a deposit address must take BNB from.
contract StipendSender {
    /// @notice Sends the BNB that came with the call to `to` with `transfer`.
    /// @param to The receiver.
    function forward(address payable to) external payable {
        to.transfer(msg.value);
    }
}
