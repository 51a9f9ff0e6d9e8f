// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title BalanceReader
/// @author Open Pay
/// @notice Reads what many accounts hold of several tokens and of BNB in one `eth_call`. Never deployed: its
/// creation code is the call's data (no `to`) and the constructor returns the answer instead of runtime code.
/// @dev The indexer reads deposit addresses with it: BNB sent there leaves no log, only a balance.
contract BalanceReader {
    /// @notice Returns (as the call's result) `abi.encode(uint256[])`: for each account in order, its balance of
    /// each token in order, the zero address standing for BNB.
    /// @param accounts The accounts.
    /// @param tokens The tokens (zero address: BNB).
    constructor(address[] memory accounts, address[] memory tokens) {
        uint256[] memory balances = new uint256[](accounts.length * tokens.length);
        for (uint256 i; i < accounts.length; ++i) {
            for (uint256 j; j < tokens.length; ++j) {
                balances[i * tokens.length + j] =
                    tokens[j] == address(0) ? accounts[i].balance : IERC20(tokens[j]).balanceOf(accounts[i]);
            }
        }
        bytes memory answer = abi.encode(balances);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            return(add(answer, 32), mload(answer))
        }
    }
}
