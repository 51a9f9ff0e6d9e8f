// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IOpenPayEscrowCommon} from "./IOpenPayEscrowCommon.sol";

/// @title IOpenPayEscrowPayments
/// @author Open Pay
/// @notice The payment half of the escrow (`OpenPayEscrow`): paying, deposit addresses, expiries, merchants'
/// withdrawals and refunds, claims.
interface IOpenPayEscrowPayments is IOpenPayEscrowCommon {
    // ---------------------------------------------------------------------------------------------
    // Constants
    // ---------------------------------------------------------------------------------------------

    /// @notice Gas forwarded when pushing a BNB refund; a receiver that needs more claims instead.
    /// @return The gas.
    function NATIVE_PUSH_GAS() external view returns (uint256);

    /// @notice Gas a stray's sweep to its receiver may use; a receiver that fails it claims instead.
    /// @return The gas.
    function STRAY_PUSH_GAS() external view returns (uint256);

    /// @notice The implementation behind every deposit address, deployed with the escrow.
    /// @return Its address.
    function FORWARDER_IMPLEMENTATION() external view returns (address);

    /// @notice The code behind the escrow's configuration, role and view functions, deployed with the escrow and
    /// fixed for its life: calls the payment half does not know are run there against the escrow's storage.
    /// @return Its address.
    function ADMINISTRATION() external view returns (address);

    // ---------------------------------------------------------------------------------------------
    // Paying
    // ---------------------------------------------------------------------------------------------

    /// @notice Pays (part of) a payment in an ERC-20 token the caller approved to the escrow.
    /// @dev The first deposit records the payment; later deposits must repeat the same intent. Each token the intent
    /// accepts adds up apart: the payment completes when the USD value of what it received in one token, at the
    /// current price, reaches the amount less that token's tolerance. The first deposit must come no earlier than
    /// the escrow's longest time to live before the expiry.
    /// @param intent The payment's signed terms.
    /// @param signature The EIP-712 signature of `intent` by a signer the merchant authorised.
    /// @param token The token to pay in, one the intent accepts.
    /// @param amount Token units to pay.
    /// @param beneficiary Who the deposit is refunded to if it ever is (when the intent names no `refundTo`): a
    /// router or relayer paying for a user names the user; zero means the caller.
    function pay(
        PaymentIntent calldata intent,
        bytes calldata signature,
        address token,
        uint256 amount,
        address beneficiary
    ) external;

    /// @notice Pays (part of) a payment in BNB sent with the call.
    /// @param intent The payment's signed terms.
    /// @param signature The EIP-712 signature of `intent` by a signer the merchant authorised.
    /// @param beneficiary Who the deposit is refunded to if it ever is (when the intent names no `refundTo`); zero
    /// means the caller.
    function payNative(PaymentIntent calldata intent, bytes calldata signature, address beneficiary) external payable;

    /// @notice Collects what a customer sent by plain transfer to the payment's deposit address, and records it
    /// exactly as a direct payment: Chainlink value within the tolerance, partial deposits adding up, excess
    /// credited to the merchant, same events (the deposit address is the payer).
    /// @dev Anyone may call (in practice the keeper) until the expiry; the operator also for `LATE_COLLECT_WINDOW`
    /// after it, for transfers that arrived in time. Deploys the deposit address's forwarder on first use.
    /// @param intent The payment's signed terms.
    /// @param signature The EIP-712 signature of `intent` (checked on the payment's first deposit).
    /// @param token The token to collect (zero address for BNB).
    /// @return amount Token units collected.
    function collect(PaymentIntent calldata intent, bytes calldata signature, address token)
        external
        returns (uint256 amount);

    /// @notice Expires an open payment past its expiry (if not expired yet) and refunds the given payers' deposits in
    /// `token`; on a paid payment, refunds deposits in tokens other than the one that paid it.
    /// @dev Anyone may call. A refund that cannot be pushed becomes claimable by its receiver. Calling again
    /// refunds deposits not refunded yet. Deposits collected from the deposit address go to the intent's `refundTo`;
    /// with none, they are left for `refundDepositAddress`. Until `LATE_COLLECT_WINDOW` after the expiry, while the
    /// deposit address holds enough of a token the payment accepts to complete it (with what the payment received in
    /// that token, at the current price), only the operator may expire it (`LateCollectPending`); dust holds nothing
    /// back.
    /// @param intent The payment's terms, as signed.
    /// @param token The token of the deposits to refund.
    /// @param payers Whose deposits to refund.
    function expire(PaymentIntent calldata intent, address token, address[] calldata payers) external;

    /// @notice Sends back deposits collected from the deposit address that are refundable (of an expired payment,
    /// or in a token other than the one that paid it): to the intent's `refundTo`, or when it names none to `to`,
    /// which only the operator role may choose (the keeper takes it from the observed transfer's sender). Several
    /// senders are refunded by several calls.
    /// @param intent The payment's terms, as signed.
    /// @param token The token.
    /// @param to The receiver when the intent names no refund address.
    /// @param amount Token units.
    function refundDepositAddress(PaymentIntent calldata intent, address token, address to, uint256 amount) external;

    /// @notice Sends back what a deposit address holds that can never be collected: a token the intent does not
    /// accept, or anything sent after the payment completed or expired. Goes to the intent's `refundTo`, or when
    /// it names none to `to`, which only the operator role may choose. The payment's own token sent after the
    /// expiry counts as a stray for others only once `LATE_COLLECT_WINDOW` has passed. If the receiver cannot take
    /// it, it becomes claimable.
    /// @param intent The payment's terms, as signed.
    /// @param token The token (zero address for BNB).
    /// @param to The receiver when the intent names no refund address.
    /// @return amount Token units returned.
    function returnStray(PaymentIntent calldata intent, address token, address to) external returns (uint256 amount);

    // ---------------------------------------------------------------------------------------------
    // Merchants
    // ---------------------------------------------------------------------------------------------

    /// @notice Withdraws from the caller's merchant balance to its payout wallet.
    /// @param token The token (zero address for BNB).
    /// @param amount Token units.
    function withdraw(address token, uint256 amount) external;

    /// @notice Refunds (part of) a paid payment from the caller's merchant balance.
    /// @dev If the push fails the refund becomes claimable by `to`.
    /// @param paymentId The payment.
    /// @param to The receiver of the refund.
    /// @param amount Token units, at most what was paid and not yet refunded.
    function refund(bytes32 paymentId, address to, uint256 amount) external;

    /// @notice Changes the caller's payout wallet.
    /// @param payout The new payout wallet.
    function setPayout(address payout) external;

    /// @notice Authorises or revokes an intent signer for the caller's merchant account.
    /// @param signer The signer.
    /// @param authorised Whether its intents are accepted.
    function setSigner(address signer, bool authorised) external;

    // ---------------------------------------------------------------------------------------------
    // Claims and fees
    // ---------------------------------------------------------------------------------------------

    /// @notice Claims refunds owed to the caller that could not be pushed.
    /// @param token The token.
    /// @param to Where to send them (another address when the caller's own is blacklisted).
    function claim(address token, address to) external;

    /// @notice The deposit address of a payment: where a plain transfer pays it. Computable off-chain (CREATE2 of
    /// the `DepositAddressClone` proxy of `FORWARDER_IMPLEMENTATION`, salted with the intent's digest).
    /// @param intent The payment's terms.
    /// @return The deposit address.
    function depositAddressOf(PaymentIntent calldata intent) external view returns (address);
}
