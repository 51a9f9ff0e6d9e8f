// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IOpenPayEscrowCommon} from "./IOpenPayEscrowCommon.sol";

/// @title IOpenPayEscrowAdmin
/// @author Open Pay
/// @notice The administration half of the escrow (`OpenPayEscrowAdmin`, reached through the escrow's address):
/// tokens, tolerance, fee, treasury, merchants' registration, pausing, rescue, fees, and every view of the
/// escrow's records.
interface IOpenPayEscrowAdmin is IOpenPayEscrowCommon {
    // ---------------------------------------------------------------------------------------------
    // Constants
    // ---------------------------------------------------------------------------------------------

    /// @notice Tolerance a token gets when first configured: 1%.
    /// @return Basis points.
    function DEFAULT_TOLERANCE_BPS() external view returns (uint16);

    /// @notice Hard cap of the tolerance: 5%.
    /// @return Basis points.
    function MAX_TOLERANCE_BPS() external view returns (uint16);

    /// @notice Hard cap of the platform fee: 5%.
    /// @return Basis points.
    function MAX_FEE_BPS() external view returns (uint16);

    /// @notice Longest staleness limit a feed may be given.
    /// @return Seconds.
    function MAX_STALENESS_CAP() external view returns (uint32);

    /// @notice How long a new admin waits before accepting the admin role, at deployment (the admin can change
    /// it with `changeDefaultAdminDelay`, itself taking effect only after a wait).
    /// @return Seconds.
    function INITIAL_ADMIN_DELAY() external view returns (uint48);

    /// @notice Longest time to live a payment may have at its first deposit, at deployment: 24 hours.
    /// @return The limit, in hours.
    function DEFAULT_MAX_TTL_HOURS() external view returns (uint8);

    /// @notice Hard cap of the time-to-live limit: 7 days, so that no deposit is held longer before it can be
    /// refunded.
    /// @return The cap, in hours.
    function MAX_TTL_CAP_HOURS() external view returns (uint8);

    // ---------------------------------------------------------------------------------------------
    // Set-up
    // ---------------------------------------------------------------------------------------------

    /// @notice Gives the escrow its first admin (with an admin transfer delay of `INITIAL_ADMIN_DELAY`), a 1%
    /// tolerance, no fee and its treasury. Called once, by the escrow's constructor; any later call reverts.
    /// @param admin The default admin (use a multisig or hardware wallet).
    /// @param treasury Receiver of platform fees (may be zero while the fee is zero).
    function initialize(address admin, address treasury) external;

    // ---------------------------------------------------------------------------------------------
    // Fees
    // ---------------------------------------------------------------------------------------------

    /// @notice Sends the accumulated platform fees of a token to the treasury. Anyone may call.
    /// @param token The token.
    function withdrawFees(address token) external;

    // ---------------------------------------------------------------------------------------------
    // Operator roles
    // ---------------------------------------------------------------------------------------------

    /// @notice Registers a merchant with its payout wallet and first signer (signer-manager role).
    /// @param merchant The merchant's controlling address.
    /// @param payout Its payout wallet.
    /// @param signer Its first intent signer.
    function registerMerchant(address merchant, address payout, address signer) external;

    /// @notice Revokes a merchant's signer in an emergency, such as a leaked key (signer-manager role).
    /// @dev The role can revoke signers but never authorise them for an existing merchant.
    /// @param merchant The merchant.
    /// @param signer The signer.
    function revokeSigner(address merchant, address signer) external;

    /// @notice Allows a token or updates its feed settings (admin).
    /// @param token The token (zero address for BNB).
    /// @param feed Its Chainlink USD feed.
    /// @param maxStaleness Longest accepted age of the feed's answer, in seconds.
    function setToken(address token, address feed, uint32 maxStaleness) external;

    /// @notice Stops accepting a token for new deposits (admin). Open payments in it can still expire and refund.
    /// @param token The token.
    function disallowToken(address token) external;

    /// @notice Sets a token's payment tolerance (admin), at most `MAX_TOLERANCE_BPS`: how far short of the amount
    /// a payment in it may be and still complete. Stablecoins can be held far tighter than BNB, whose price moves
    /// between the quote and the deposit. A token gets `DEFAULT_TOLERANCE_BPS` when first configured and keeps
    /// its own when its feed is configured again.
    /// @param token The token (zero address for BNB), configured with `setToken`.
    /// @param bps The tolerance in basis points.
    function setTolerance(address token, uint16 bps) external;

    /// @notice Sets the platform fee (admin), at most `MAX_FEE_BPS`.
    /// @param bps The fee in basis points.
    function setFee(uint16 bps) external;

    /// @notice Sets the longest time to live a payment may have when its first deposit arrives (admin), from 1 to
    /// `MAX_TTL_CAP_HOURS` hours: an intent expiring later is refused until it is that close to its expiry.
    /// @param maxTtlHours The limit, in hours.
    function setMaxTtl(uint8 maxTtlHours) external;

    /// @notice Sets the treasury that receives platform fees (admin).
    /// @param treasury The treasury.
    function setTreasury(address treasury) external;

    /// @notice Moves tokens the escrow holds beyond what it owes, such as tokens sent to it by mistake (admin).
    /// @param token The token (zero address for BNB).
    /// @param to The receiver.
    /// @param amount Token units, at most the surplus.
    function rescue(address token, address to, uint256 amount) external;

    /// @notice Stops new deposits (pauser role). Refunds, claims, expiries and withdrawals go on.
    function pause() external;

    /// @notice Resumes new deposits (pauser role).
    function unpause() external;

    /// @notice USD still to pay for the payment of `intent`, 18 decimals, with what was received valued at the
    /// current price (as the next deposit will value it; reverts like a deposit while the feed is stale, and
    /// `TokenNotAllowed` once the payment's token is disallowed): zero
    /// once it is complete, expired or past its expiry time (when no deposit can be made any more).
    /// @param intent The payment's terms.
    /// @return remaining USD still due.
    function remainingUsd(PaymentIntent calldata intent) external view returns (uint256 remaining);

    /// @notice A payment as stored.
    /// @param paymentId The payment.
    /// @return The payment.
    function paymentOf(bytes32 paymentId) external view returns (Payment memory);

    /// @notice Token units a payer (or the beneficiary it named) deposited into a payment in a token and that were
    /// not yet refunded; zero in the token that paid it, whose deposits belong to the merchant.
    /// @param paymentId The payment.
    /// @param token The token.
    /// @param payer The payer.
    /// @return The amount.
    function depositOf(bytes32 paymentId, address token, address payer) external view returns (uint256);

    /// @notice Token units refunded by the merchant for a payment.
    /// @param paymentId The payment.
    /// @return The amount.
    function refundedOf(bytes32 paymentId) external view returns (uint256);

    /// @notice A merchant's balance in a token.
    /// @param merchant The merchant.
    /// @param token The token.
    /// @return The balance.
    function balanceOf(address merchant, address token) external view returns (uint256);

    /// @notice Refunds an account can claim in a token.
    /// @param token The token.
    /// @param account The account.
    /// @return The amount.
    function claimableOf(address token, address account) external view returns (uint256);

    /// @notice What the escrow owes in a token.
    /// @param token The token.
    /// @return The ledger.
    function ledgerOf(address token) external view returns (TokenLedger memory);

    /// @notice How a token is accepted and valued.
    /// @param token The token.
    /// @return The configuration.
    function tokenConfigOf(address token) external view returns (TokenConfig memory);

    /// @notice The token registered at an index.
    /// @param index The index, from 1.
    /// @return The token (zero address for BNB or an unused index).
    function tokenAt(uint8 index) external view returns (address);

    /// @notice A registered merchant.
    /// @param merchant The merchant's address.
    /// @return The merchant (id zero if not registered).
    function merchantOf(address merchant) external view returns (Merchant memory);

    /// @notice Whether a signer is authorised for a merchant.
    /// @param merchant The merchant.
    /// @param signer The signer.
    /// @return Whether its intents are accepted.
    function isSigner(address merchant, address signer) external view returns (bool);

    /// @notice The global settings.
    /// @return The settings.
    function settings() external view returns (Settings memory);

    /// @notice The USD value, 18 decimals, of an amount of a token at the current price.
    /// @dev Reverts on a stale, non-positive or future-dated price, exactly as a deposit would.
    /// @param token The token.
    /// @param amount Token units.
    /// @return The value.
    function quoteUsd(address token, uint256 amount) external view returns (uint256);
}
