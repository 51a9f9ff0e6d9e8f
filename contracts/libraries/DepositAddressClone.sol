// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title DepositAddressClone
/// @author Open Pay
/// @notice Deploys, at a CREATE2 address, the minimal proxy that sits at every payment's deposit address, and
/// predicts that address. The proxy delegates every call that carries calldata to its implementation (the forwarder),
/// exactly as an EIP-1167 clone does, but takes a plain BNB transfer (empty calldata) by itself, in 23 gas: senders
/// that forward only Solidity's 2,300-gas stipend (`transfer`, `send`) can pay a deposit address after its proxy
/// exists too. An EIP-1167 clone would delegatecall the implementation for them as well, a cold account access
/// (2,600 gas) the stipend cannot pay.
/// @dev Runtime code, 49 bytes: 0age's 44-byte minimal proxy (one byte shorter than EIP-1167's, and the same
/// behaviour) with the 5-byte branch at 0x02 inserted, which jumps to the proxy's own final `RETURN`. Each byte of
/// runtime code costs 200 gas at deployment (the first collect of every deposit address): the branch adds 5, and
/// 0age's body saves 1 against EIP-1167's.
///
/// | pc   | bytes       | opcode              | stack afterwards (top last)          |
/// |------|-------------|---------------------|--------------------------------------|
/// | 0x00 | 3d          | RETURNDATASIZE      | 0                                    |
/// | 0x01 | 3d          | RETURNDATASIZE      | 0 0                                  |
/// | 0x02 | 36          | CALLDATASIZE        | 0 0 cds                              |
/// | 0x03 | 15          | ISZERO              | 0 0 (cds == 0)                       |
/// | 0x04 | 60 2f       | PUSH1 0x2f          | 0 0 (cds == 0) 0x2f                  |
/// | 0x06 | 57          | JUMPI               | 0 0 (empty calldata: to 0x2f)        |
/// | 0x07 | 3d 3d       | RETURNDATASIZE ×2   | 0 0 0 0                              |
/// | 0x09 | 36          | CALLDATASIZE        | 0 0 0 0 cds                          |
/// | 0x0a | 3d 3d       | RETURNDATASIZE ×2   | 0 0 0 0 cds 0 0                      |
/// | 0x0c | 37          | CALLDATACOPY        | 0 0 0 0             (calldata at 0)  |
/// | 0x0d | 36          | CALLDATASIZE        | 0 0 0 0 cds                          |
/// | 0x0e | 3d          | RETURNDATASIZE      | 0 0 0 0 cds 0                        |
/// | 0x0f | 73 <impl>   | PUSH20 impl         | 0 0 0 0 cds 0 impl                   |
/// | 0x24 | 5a          | GAS                 | 0 0 0 0 cds 0 impl gas               |
/// | 0x25 | f4          | DELEGATECALL        | 0 0 ok                               |
/// | 0x26 | 3d 3d       | RETURNDATASIZE ×2   | 0 0 ok rds rds                       |
/// | 0x28 | 93          | SWAP4               | rds 0 ok rds 0                       |
/// | 0x29 | 80          | DUP1                | rds 0 ok rds 0 0                     |
/// | 0x2a | 3e          | RETURNDATACOPY      | rds 0 ok            (return data at 0)|
/// | 0x2b | 60 2f       | PUSH1 0x2f          | rds 0 ok 0x2f                        |
/// | 0x2d | 57          | JUMPI               | rds 0                                |
/// | 0x2e | fd          | REVERT              | (the implementation's revert data)   |
/// | 0x2f | 5b          | JUMPDEST            | rds 0, or 0 0 from 0x06              |
/// | 0x30 | f3          | RETURN              | (its return data, or nothing)        |
///
/// A plain transfer runs 0x00–0x06, 0x2f and 0x30: 2 + 2 + 2 + 3 + 3 + 10 + 1 + 0 = 23 gas, and succeeds with the
/// BNB. A call with calldata pays 18 gas more than through an EIP-1167 clone. Nothing can make a transfer with a
/// 21,000 gas limit succeed once the proxy exists: it leaves 0 gas for the code, and every opcode but STOP costs some.
///
/// Creation code, 10 bytes before the runtime: `3d 60 31 80 60 0a 3d 39 81 f3` copies the 0x31 bytes after it
/// (CODECOPY from 0x0a) to memory and returns them. Off chain the same bytes are in
/// `indexer/src/chain/depositAddress.ts`.
library DepositAddressClone {
    /// @notice CREATE2 could not deploy the proxy: the address already has code (the salt was used before), or the
    /// deployment ran out of gas.
    /// @param implementation The implementation the proxy would delegate to.
    /// @param salt The CREATE2 salt.
    error DepositAddressDeploymentFailed(address implementation, bytes32 salt);

    /// @notice The creation code of the proxy delegating to `implementation`, as CREATE2 hashes it.
    /// @dev The reference for the assembly below and for off-chain predictions.
    /// @param implementation The implementation.
    /// @return The 59 bytes of creation code.
    function creationCode(address implementation) internal pure returns (bytes memory) {
        return abi.encodePacked(
            hex"3d603180600a3d3981f3", // constructor: return the 0x31 bytes of runtime that follow
            hex"3d3d3615602f57", // empty calldata: jump to the final RETURN
            hex"3d3d363d3d37363d73", // copy the calldata, PUSH20 the implementation…
            implementation,
            hex"5af43d3d93803e602f57fd5bf3" // …delegatecall it and pass its return or revert data on
        );
    }

    /// @notice Deploys the proxy delegating to `implementation` with CREATE2 and `salt`.
    /// @param implementation The implementation.
    /// @param salt The CREATE2 salt.
    /// @return instance The proxy's address.
    function cloneDeterministic(address implementation, bytes32 salt) internal returns (address instance) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            // The creation code in the scratch space, bytes 0x05–0x3f: its 26 bytes before the implementation and the
            // implementation's first byte in the first word, the implementation's other 19 bytes and the 13 bytes
            // after it in the second (shifting it left by 13 bytes drops its first byte and any dirty upper bits).
            mstore(0x00, or(0x3d603180600a3d3981f33d3d3615602f573d3d363d3d37363d7300, shr(0xf8, shl(0x60, implementation))))
            mstore(0x20, or(shl(0x68, implementation), 0x5af43d3d93803e602f57fd5bf3))
            instance := create2(0, 0x05, 0x3b, salt)
        }
        if (instance == address(0)) revert DepositAddressDeploymentFailed(implementation, salt);
    }

    /// @notice The address at which `deployer` deploys the proxy delegating to `implementation` with `salt`.
    /// @param implementation The implementation.
    /// @param salt The CREATE2 salt.
    /// @param deployer The contract that deploys it.
    /// @return predicted The CREATE2 address: keccak256(0xff ‖ deployer ‖ salt ‖ keccak256(creation code))[12:].
    function predictDeterministicAddress(address implementation, bytes32 salt, address deployer)
        internal
        pure
        returns (address predicted)
    {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            // Past the free memory pointer, written from the end so that each word's zero padding falls on bytes
            // written next: the creation code at ptr + 0x06, then 0xff ‖ deployer ‖ salt ‖ keccak256(creation code)
            // at ptr + 0x41, 85 bytes.
            let ptr := mload(0x40)
            mstore(add(ptr, 0x36), deployer)
            mstore(add(ptr, 0x22), 0x5af43d3d93803e602f57fd5bf3ff)
            mstore(add(ptr, 0x14), implementation)
            mstore(ptr, 0x3d603180600a3d3981f33d3d3615602f573d3d363d3d37363d73)
            mstore(add(ptr, 0x56), salt)
            mstore(add(ptr, 0x76), keccak256(add(ptr, 0x06), 0x3b))
            predicted := and(keccak256(add(ptr, 0x41), 0x55), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }

    /// @notice The address at which this contract deploys the proxy delegating to `implementation` with `salt`.
    /// @param implementation The implementation.
    /// @param salt The CREATE2 salt.
    /// @return The CREATE2 address.
    function predictDeterministicAddress(address implementation, bytes32 salt) internal view returns (address) {
        return predictDeterministicAddress(implementation, salt, address(this));
    }
}
