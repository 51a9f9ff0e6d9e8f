// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IOpenPayEscrow} from "../interfaces/IOpenPayEscrow.sol";
import {IOpenPayEscrowCommon} from "../interfaces/IOpenPayEscrowCommon.sol";

/// @title BenchPayer
/// @author Open Pay
/// @notice Pays many deposits in one transaction, so that the indexer benchmark can put tens of thousands of
/// payment events on a local chain quickly. Test and benchmark use only; never deployed.
contract BenchPayer {
    /// @notice Approves the escrow to take this contract's `token`.
    /// @param escrow The escrow.
    /// @param token The token to pay with (minted to this contract beforehand).
    function approve(IOpenPayEscrow escrow, IERC20 token) external {
        token.approve(address(escrow), type(uint256).max);
    }

    /// @notice Deposits into each payment `times[i]` times `amounts[i]` of `token`, in order.
    /// @param escrow The escrow.
    /// @param intents The payments' intents.
    /// @param signatures Their signatures, in the same order.
    /// @param token The token.
    /// @param amounts Token units per deposit, for each payment.
    /// @param times Deposits, for each payment.
    function payMany(
        IOpenPayEscrow escrow,
        IOpenPayEscrowCommon.PaymentIntent[] calldata intents,
        bytes[] calldata signatures,
        address token,
        uint256[] calldata amounts,
        uint256[] calldata times
    ) external {
        for (uint256 i; i < intents.length; ++i) {
            for (uint256 t; t < times[i]; ++t) {
                escrow.pay(intents[i], signatures[i], token, amounts[i], address(0));
            }
        }
    }

    /// @notice Expires each of the payments (past their expiry) and takes back this contract's deposits in `token`.
    /// @param escrow The escrow.
    /// @param intents The payments' intents.
    /// @param token The token of the deposits.
    function expireMany(IOpenPayEscrow escrow, IOpenPayEscrowCommon.PaymentIntent[] calldata intents, address token)
        external
    {
        address[] memory payers = new address[](1);
        payers[0] = address(this);
        for (uint256 i; i < intents.length; ++i) {
            escrow.expire(intents[i], token, payers);
        }
    }
}
