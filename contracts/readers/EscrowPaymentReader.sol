// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IOpenPayEscrow} from "../interfaces/IOpenPayEscrow.sol";
import {IOpenPayEscrowCommon} from "../interfaces/IOpenPayEscrowCommon.sol";

/// @title EscrowPaymentReader
/// @author Open Pay
/// @notice Reads the escrow's record of many payments in one `eth_call`. Never deployed: its creation code is the
/// call's data (no `to`), the constructor reads and returns the answer instead of runtime code, so any node answers
/// it at any block it holds the state of, with nothing to deploy on BSC or a local chain.
/// @dev The indexer asks this before it tells a merchant that a payment is paid or expired: the escrow's own
/// record must agree with what the indexer derived from the logs.
contract EscrowPaymentReader {
    /// @notice One payment as the escrow holds it.
    struct PaymentState {
        /// @dev Where the payment stands on chain.
        IOpenPayEscrowCommon.Status status;
        /// @dev The token it is paid in (zero address for BNB, or before the first deposit).
        address token;
        /// @dev Token units deposited in total.
        uint256 amount;
        /// @dev USD value of all deposits at the price of the latest one, 18 decimals.
        uint256 receivedUsd;
        /// @dev Token units the merchant refunded (asked of the escrow only once it refunded any).
        uint256 refunded;
    }

    /// @notice Returns (as the call's result) `abi.encode(PaymentState[])`, one per id, in order.
    /// @param escrow The escrow.
    /// @param paymentIds The payments.
    constructor(IOpenPayEscrow escrow, bytes32[] memory paymentIds) {
        PaymentState[] memory states = new PaymentState[](paymentIds.length);
        // Token addresses by index, asked once per call: payments share a few tokens.
        address[256] memory tokens;
        bool[256] memory known;
        for (uint256 i; i < paymentIds.length; ++i) {
            IOpenPayEscrowCommon.Payment memory payment = escrow.paymentOf(paymentIds[i]);
            uint8 index = payment.tokenIndex;
            if (payment.status != IOpenPayEscrowCommon.Status.None && !known[index]) {
                tokens[index] = escrow.tokenAt(index);
                known[index] = true;
            }
            bool refunds = payment.status == IOpenPayEscrowCommon.Status.PartiallyRefunded
                || payment.status == IOpenPayEscrowCommon.Status.Refunded;
            states[i] = PaymentState({
                status: payment.status,
                token: tokens[index],
                amount: payment.amount,
                receivedUsd: payment.receivedUsd,
                refunded: refunds ? escrow.refundedOf(paymentIds[i]) : 0
            });
        }
        bytes memory answer = abi.encode(states);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            return(add(answer, 32), mload(answer))
        }
    }
}
