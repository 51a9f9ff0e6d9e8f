// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken
/// @author Open Pay
/// @notice Mintable BEP-20 stand-in for USDT and USDC in tests and local deployments. Never deployed to BSC.
contract TestToken is ERC20 {
    uint8 private immutable _DECIMALS;

    /// @notice Deploys the token with no supply.
    /// @param name_ Token name.
    /// @param symbol_ Token symbol.
    /// @param decimals_ Token decimals (18 for BSC's USDT and USDC).
    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        _DECIMALS = decimals_;
    }

    /// @notice Mints tokens to anyone; test use only.
    /// @param to Receiver.
    /// @param amount Token units.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _DECIMALS;
    }
}
