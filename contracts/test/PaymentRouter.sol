// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IOpenPayEscrow} from "../interfaces/IOpenPayEscrow.sol";
import {IOpenPayEscrowCommon} from "../interfaces/IOpenPayEscrowCommon.sol";

/// @title PaymentRouter
/// @author Open Pay
/// @notice Pays the escrow in BNB on a user's behalf, as an aggregator or relayer would. It has no `receive`, so it
/// refuses every BNB transfer, and no way to call `claim`: a refund owed to it could never leave the escrow. Test
/// use only; never deployed.
contract PaymentRouter {
    /// @notice The escrow it pays.
    IOpenPayEscrow public immutable ESCROW;

    /// @notice Deploys a router for one escrow.
    /// @param escrow The escrow.
    constructor(IOpenPayEscrow escrow) {
        ESCROW = escrow;
    }

    /// @notice Pays the BNB sent into a payment, naming `beneficiary` as the deposit's owner (zero: the router itself,
    /// as a router unaware of beneficiaries would).
    /// @param intent The payment's signed terms.
    /// @param signature The intent's signature.
    /// @param beneficiary Who the deposit is refunded to.
    function payNativeFor(
        IOpenPayEscrowCommon.PaymentIntent calldata intent,
        bytes calldata signature,
        address beneficiary
    ) external payable {
        ESCROW.payNative{value: msg.value}(intent, signature, beneficiary);
    }
}
