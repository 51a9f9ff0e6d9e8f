// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {DepositAddressClone} from "../libraries/DepositAddressClone.sol";

/// @title DepositAddressCloneHarness
/// @author Open Pay
/// @notice Test only: the deposit-address proxy library's functions, callable from Hardhat tests (the escrow never
/// reaches its failure branch, deploying only where no code is).
contract DepositAddressCloneHarness {
    /// @notice See `DepositAddressClone.creationCode`.
    /// @param implementation The implementation.
    /// @return The creation code.
    function creationCode(address implementation) external pure returns (bytes memory) {
        return DepositAddressClone.creationCode(implementation);
    }

    /// @notice See `DepositAddressClone.cloneDeterministic`.
    /// @param implementation The implementation.
    /// @param salt The CREATE2 salt.
    /// @return The proxy's address.
    function deploy(address implementation, bytes32 salt) external returns (address) {
        return DepositAddressClone.cloneDeterministic(implementation, salt);
    }

    /// @notice See `DepositAddressClone.predictDeterministicAddress`.
    /// @param implementation The implementation.
    /// @param salt The CREATE2 salt.
    /// @return The CREATE2 address.
    function predict(address implementation, bytes32 salt) external view returns (address) {
        return DepositAddressClone.predictDeterministicAddress(implementation, salt);
    }
}
