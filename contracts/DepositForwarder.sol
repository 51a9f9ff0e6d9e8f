// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title DepositForwarder
/// @author Open Pay
/// @notice The code behind every payment's deposit address: it holds what a customer sent there by a plain
/// transfer until the escrow moves it.
/// @dev The escrow deploys this once, as the implementation of the minimal proxies of `DepositAddressClone`; each
/// proxy lives at a CREATE2 address salted with a payment intent's digest. Only the escrow can deploy at those
/// addresses and only the escrow can move funds out of them. A plain BNB transfer to a deposit address never reaches
/// this code: the proxy takes empty calldata itself, so this contract has no `receive` and refuses BNB sent to it.
contract DepositForwarder {
    using SafeERC20 for IERC20;

    /// @notice The escrow that deployed this implementation and alone may sweep its clones.
    address public immutable ESCROW;

    /// @notice Only the escrow may sweep a deposit address.
    /// @param caller The caller.
    error NotEscrow(address caller);

    /// @notice Sending BNB out of the deposit address failed.
    /// @param to The receiver.
    /// @param amount Wei.
    error NativeSweepFailed(address to, uint256 amount);

    /// @notice Deploys the implementation for the calling escrow.
    constructor() {
        ESCROW = msg.sender;
    }

    /// @notice Moves `amount` of `token` (zero address for BNB) from this deposit address to `to`.
    /// @param token The token.
    /// @param to The receiver: the escrow, or a refund address it chose.
    /// @param amount Token units.
    function sweep(address token, address to, uint256 amount) external {
        if (msg.sender != ESCROW) revert NotEscrow(msg.sender);
        if (token == address(0)) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool sent,) = to.call{value: amount}("");
            if (!sent) revert NativeSweepFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }
}
