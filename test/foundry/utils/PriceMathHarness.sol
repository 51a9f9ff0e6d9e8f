// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PriceMath} from "../../../contracts/libraries/PriceMath.sol";

/// @notice Exposes PriceMath's internal functions for fuzzing.
contract PriceMathHarness {
    function usdValue(uint256 amount, uint256 price, uint8 tokenDecimals, uint8 feedDecimals)
        external
        pure
        returns (uint256)
    {
        return PriceMath.usdValue(amount, price, tokenDecimals, feedDecimals);
    }

    function covers(uint256 receivedUsd, uint256 amountUsd, uint256 toleranceBps) external pure returns (bool) {
        return PriceMath.covers(receivedUsd, amountUsd, toleranceBps);
    }
}
