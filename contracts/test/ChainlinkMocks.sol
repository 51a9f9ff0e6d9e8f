// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Compiles Chainlink's MockV3Aggregator so tests and local deployments can deploy it by name.
// solhint-disable-next-line no-unused-import
import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/shared/mocks/MockV3Aggregator.sol";
