// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";

import {IOpenPayEscrowAdmin} from "./IOpenPayEscrowAdmin.sol";
import {IOpenPayEscrowPayments} from "./IOpenPayEscrowPayments.sol";

/// @title IOpenPayEscrow
/// @author Open Pay
/// @notice Escrow of Open Pay: customers pay USDT, USDC or BNB against a merchant's signed payment intent,
/// valued at Chainlink prices; the escrow holds the merchant's balance until the merchant withdraws it.
/// @dev Everything callable at the escrow's address. Two code contracts answer there, so that each stays well
/// under the 24,576-byte limit: `OpenPayEscrow` (payments) and, for every call it does not know,
/// `OpenPayEscrowAdmin` (configuration, roles, views) by delegatecall on the same storage. Neither can be
/// replaced: the administration's address is fixed when the escrow is deployed. Roles follow OpenZeppelin's
/// AccessControlDefaultAdminRules: the admin role moves in two steps with a delay.
interface IOpenPayEscrow is IOpenPayEscrowPayments, IOpenPayEscrowAdmin, IAccessControlDefaultAdminRules {
    /// @notice A guarded function was entered again during its own call (OpenZeppelin's ReentrancyGuardTransient).
    error ReentrancyGuardReentrantCall();

    /// @notice A token transfer reverted or returned false (OpenZeppelin's SafeERC20).
    /// @param token The token.
    error SafeERC20FailedOperation(address token);

    /// @notice A value did not fit the width it is stored in (OpenZeppelin's SafeCast).
    /// @param bits The width.
    /// @param value The value.
    error SafeCastOverflowedUintDowncast(uint8 bits, uint256 value);

    /// @notice `initialize` was called after the escrow's constructor ran it (OpenZeppelin's Initializable).
    error InvalidInitialization();

    /// @notice The role that administers every role and configures the escrow.
    /// @return The role's id (zero).
    function DEFAULT_ADMIN_ROLE() external view returns (bytes32);
}
