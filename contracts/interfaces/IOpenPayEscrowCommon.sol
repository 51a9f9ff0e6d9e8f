// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPriceFeedErrors} from "./IPriceFeedErrors.sol";

/// @title IOpenPayEscrowCommon
/// @author Open Pay
/// @notice What both code contracts behind the escrow's address share: its types, events, errors and constants,
/// and the digest of an intent.
/// @dev Every event that changes a payment has the payment id as its first indexed topic, so that an
/// indexer can rebuild every payment from logs alone.
interface IOpenPayEscrowCommon is IPriceFeedErrors {
    // ---------------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------------

    /// @notice The terms of one payment, signed off-chain (EIP-712) by a signer the merchant authorised.
    /// @dev Creating a payment costs no gas: nothing is written on chain until the first deposit.
    struct PaymentIntent {
        /// @dev Unique id chosen by the gateway, used by at most one payment. Its first 20 bytes are the
        /// merchant's address, so one merchant can never take another merchant's payment id.
        bytes32 paymentId;
        /// @dev The merchant credited when the payment completes.
        address merchant;
        /// @dev The price in USD with 18 decimals.
        uint256 amountUsd;
        /// @dev Unix time after which deposits revert and the payment can be expired.
        uint64 expiry;
        /// @dev Where refunds of deposits go; zero sends each refund back to the address that deposited (or the
        /// beneficiary it named).
        address refundTo;
        /// @dev The tokens the payment accepts: bit `i` set accepts the token at index `i` (`tokenAt`). Each accepted
        /// token is a separate slot of the payment: a deposit in one never stops the payment being paid in another.
        uint256 acceptedTokens;
    }

    /// @notice Where a payment stands on chain.
    enum Status {
        /// @dev No deposit yet (the default of every id).
        None,
        /// @dev Deposits received, less than the amount (less the tolerance).
        Open,
        /// @dev Paid: the deposits were credited to the merchant's balance.
        Completed,
        /// @dev Expired before being paid in full; its deposits are refunded.
        Expired,
        /// @dev Paid, and part of it was refunded by the merchant.
        PartiallyRefunded,
        /// @dev Paid, and all of it was refunded by the merchant.
        Refunded
    }

    /// @notice A payment as stored: one storage slot.
    struct Payment {
        /// @dev Where the payment stands.
        Status status;
        /// @dev Index of the token it is paid in (see `tokenAt`): while open, the token of its first deposit, whose
        /// deposits this record adds up (deposits in its other accepted tokens add up apart); once paid, the token
        /// that completed it.
        uint8 tokenIndex;
        /// @dev Id of the merchant it pays (see `merchantOf`).
        uint32 merchantId;
        /// @dev Token units deposited in total in `tokenIndex`.
        uint104 amount;
        /// @dev USD value of all deposits at the price of the latest deposit, 18 decimals (each deposit values the
        /// whole amount received again, so a payer who waits bears the price change).
        uint104 receivedUsd;
    }

    /// @notice How a token is accepted and valued, packed in one slot because every deposit reads it.
    struct TokenConfig {
        /// @dev Chainlink USD feed of the token; zero while the token is not accepted for new deposits.
        address feed;
        /// @dev Longest accepted age of the feed's answer, in seconds.
        uint24 maxStaleness;
        /// @dev Decimals of the token (18 for BNB).
        uint8 decimals;
        /// @dev Decimals of the feed's answer.
        uint8 feedDecimals;
        /// @dev Index of the token in `tokenAt`, from 1; kept when the token is disallowed.
        uint8 index;
        /// @dev The global limit on a payment's time to live, copied here so that a first deposit reads one slot.
        uint8 maxTtlHours;
        /// @dev The token's own tolerance: a payment in it completes when the USD received is at least
        /// amount × (1 − toleranceBps / 10,000). Stablecoins can be held far tighter than BNB.
        uint16 toleranceBps;
        /// @dev The global platform fee, copied here so that a deposit reads one slot instead of two.
        uint16 feeBps;
        /// @dev The global pause flag, copied here for the same reason.
        bool paused;
    }

    /// @notice What the escrow owes in one token.
    struct TokenLedger {
        /// @dev Everything owed: merchant balances, open deposits, claimable refunds and fees.
        uint128 owed;
        /// @dev The platform fees inside `owed`, due to the treasury.
        uint128 fees;
    }

    /// @notice A registered merchant.
    struct Merchant {
        /// @dev Id from 1, recorded in each of its payments.
        uint32 id;
        /// @dev Where withdrawals go.
        address payout;
    }

    /// @notice Global settings. Every token's configuration carries a copy of the fee and pause flag, which the
    /// setters keep equal to these (the tolerance is each token's own).
    struct Settings {
        /// @dev Platform fee taken from each completed payment, in basis points.
        uint16 feeBps;
        /// @dev When true, new deposits revert; refunds, claims and withdrawals go on.
        bool paused;
        /// @dev Longest time a payment may have left when its first deposit arrives, in hours.
        uint8 maxTtlHours;
        /// @dev Receiver of the platform fees.
        address treasury;
    }

    // ---------------------------------------------------------------------------------------------
    // Payment events (first indexed topic: payment id)
    // ---------------------------------------------------------------------------------------------

    /// @notice A deposit was recorded and the payment stays open (underpaid). Every deposit emits either this
    /// event or `PaymentCompleted`.
    /// @param paymentId The payment.
    /// @param merchant The merchant the payment is for.
    /// @param payer Who deposited, or the beneficiary it named (refunds go back here unless the intent names
    /// `refundTo`).
    /// @param token The token deposited (zero address for BNB).
    /// @param amount Token units of this deposit.
    /// @param valueUsd USD value of this deposit at the current price, 18 decimals.
    /// @param receivedUsd USD value of all deposits of the payment in this token so far, at the current price.
    /// @param remainingUsd USD still to pay in this token for the full amount, at the current price.
    event PaymentDeposited(
        bytes32 indexed paymentId,
        address indexed merchant,
        address indexed payer,
        address token,
        uint256 amount,
        uint256 valueUsd,
        uint256 receivedUsd,
        uint256 remainingUsd
    );

    /// @notice A deposit brought the payment to its full value (within the tolerance): the payment is paid and
    /// all its deposits were credited to the merchant's balance, less the platform fee.
    /// @param paymentId The payment.
    /// @param merchant The merchant credited.
    /// @param payer Who made this deposit.
    /// @param token The token it was paid in.
    /// @param amount Token units of this deposit (earlier deposits are in their `PaymentDeposited` events).
    /// @param valueUsd USD value of this deposit at the current price.
    /// @param receivedUsd USD value of all deposits of the payment in this token, at the current price. Deposits in
    /// its other accepted tokens are not part of it: they stay refundable to their payers (`expire`).
    /// @param excessUsd USD received beyond the payment's amount (overpayment), credited to the merchant too.
    /// @param fee Token units taken as platform fee from all deposits.
    event PaymentCompleted(
        bytes32 indexed paymentId,
        address indexed merchant,
        address indexed payer,
        address token,
        uint256 amount,
        uint256 valueUsd,
        uint256 receivedUsd,
        uint256 excessUsd,
        uint256 fee
    );

    /// @notice An open payment passed its expiry unpaid; its deposits are being refunded.
    /// @param paymentId The payment.
    /// @param token The token of its first deposit.
    /// @param amount Token units deposited in that token, to be refunded (with any deposits in other tokens).
    /// @param receivedUsd USD value that had been received.
    event PaymentExpired(bytes32 indexed paymentId, address token, uint256 amount, uint256 receivedUsd);

    /// @notice A deposit was sent back: of an expired payment, or in a token other than the one that paid it.
    /// @param paymentId The payment.
    /// @param payer Whose deposit it was.
    /// @param to Where it was sent (the payer or the intent's `refundTo`).
    /// @param token The token.
    /// @param amount Token units.
    event DepositRefunded(
        bytes32 indexed paymentId,
        address indexed payer,
        address indexed to,
        address token,
        uint256 amount
    );

    /// @notice A merchant refunded (part of) a paid payment from its balance.
    /// @param paymentId The payment.
    /// @param merchant The merchant.
    /// @param to The refund's receiver.
    /// @param token The token.
    /// @param amount Token units of this refund.
    /// @param refundedTotal Token units refunded for this payment so far.
    event PaymentRefunded(
        bytes32 indexed paymentId,
        address indexed merchant,
        address indexed to,
        address token,
        uint256 amount,
        uint256 refundedTotal
    );

    /// @notice Funds at a deposit address that cannot be collected (wrong token, sent after completion or expiry)
    /// were sent back.
    /// @param paymentId The payment whose deposit address held them.
    /// @param depositAddress The deposit address.
    /// @param to Where they went: the intent's refund address, or the operator's choice.
    /// @param token The token (zero address for BNB).
    /// @param amount Token units.
    event StrayReturned(
        bytes32 indexed paymentId, address indexed depositAddress, address indexed to, address token, uint256 amount
    );

    /// @notice A refund could not be pushed (reverting receiver, blacklisted address) and became claimable.
    /// @param paymentId The payment the refund belongs to.
    /// @param account Who can claim it.
    /// @param token The token.
    /// @param amount Token units.
    event RefundClaimable(bytes32 indexed paymentId, address indexed account, address token, uint256 amount);

    // ---------------------------------------------------------------------------------------------
    // Balance and configuration events
    // ---------------------------------------------------------------------------------------------

    /// @notice A claimable refund was claimed.
    /// @param account Who it was owed to.
    /// @param to Where it was sent.
    /// @param token The token.
    /// @param amount Token units.
    event RefundClaimed(address indexed account, address indexed to, address token, uint256 amount);

    /// @notice A merchant withdrew from its balance to its payout wallet.
    /// @param merchant The merchant.
    /// @param payout The payout wallet.
    /// @param token The token.
    /// @param amount Token units.
    event Withdrawn(address indexed merchant, address indexed payout, address token, uint256 amount);

    /// @notice Platform fees were sent to the treasury.
    /// @param treasury The receiver.
    /// @param token The token.
    /// @param amount Token units.
    event FeesWithdrawn(address indexed treasury, address token, uint256 amount);

    /// @notice Tokens beyond what the escrow owes were moved out by the admin.
    /// @param token The token (zero address for BNB).
    /// @param to The receiver.
    /// @param amount Token units.
    event Rescued(address indexed token, address indexed to, uint256 amount);

    /// @notice A merchant was registered.
    /// @param merchant The merchant's address, which controls its settings and balance.
    /// @param id The merchant's id.
    /// @param payout Its payout wallet.
    /// @param signer Its first intent signer.
    event MerchantRegistered(address indexed merchant, uint32 id, address payout, address signer);

    /// @notice A merchant changed its payout wallet.
    /// @param merchant The merchant.
    /// @param payout The new payout wallet.
    event PayoutUpdated(address indexed merchant, address payout);

    /// @notice An intent signer was authorised or revoked for a merchant.
    /// @param merchant The merchant.
    /// @param signer The signer.
    /// @param authorised Whether intents it signs are now accepted.
    event SignerUpdated(address indexed merchant, address indexed signer, bool authorised);

    /// @notice A token was allowed or its feed settings changed.
    /// @param token The token (zero address for BNB).
    /// @param feed Its Chainlink USD feed.
    /// @param maxStaleness Longest accepted age of the feed's answer, in seconds.
    /// @param index Its index in `tokenAt`.
    event TokenConfigured(address indexed token, address indexed feed, uint32 maxStaleness, uint8 index);

    /// @notice A token stopped being accepted for new deposits.
    /// @param token The token.
    event TokenDisallowed(address indexed token);

    /// @notice A token's payment tolerance changed.
    /// @param token The token (zero address for BNB).
    /// @param previousBps The old tolerance.
    /// @param newBps The new tolerance.
    event ToleranceUpdated(address indexed token, uint16 previousBps, uint16 newBps);

    /// @notice The longest time to live a payment may have at its first deposit changed.
    /// @param previousHours The old limit.
    /// @param newHours The new limit.
    event MaxTtlUpdated(uint8 previousHours, uint8 newHours);

    /// @notice The platform fee changed.
    /// @param previousBps The old fee.
    /// @param newBps The new fee.
    event FeeUpdated(uint16 previousBps, uint16 newBps);

    /// @notice The treasury changed.
    /// @param treasury The new treasury.
    event TreasuryUpdated(address indexed treasury);

    /// @notice New deposits were paused.
    /// @param account The pauser.
    event Paused(address account);

    /// @notice New deposits were resumed.
    /// @param account The pauser.
    event Unpaused(address account);

    // ---------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------

    /// @notice The intent's signature is malformed or does not recover to an address.
    /// @param paymentId The payment.
    error InvalidSignature(bytes32 paymentId);

    /// @notice The intent was signed by an address the merchant has not authorised.
    /// @param merchant The intent's merchant.
    /// @param signer The address that signed.
    error UnauthorisedSigner(address merchant, address signer);

    /// @notice The payment id does not start with the merchant's address.
    /// @param paymentId The payment id.
    /// @param merchant The intent's merchant.
    error PaymentIdNotOfMerchant(bytes32 paymentId, address merchant);

    /// @notice The intent asks for a zero USD amount.
    /// @param paymentId The payment.
    error ZeroPaymentAmount(bytes32 paymentId);

    /// @notice The supplied intent is not the one the payment was opened with.
    /// @param paymentId The payment.
    /// @param expected Hash of the intent the payment was opened with.
    /// @param actual Hash of the supplied intent.
    error IntentMismatch(bytes32 paymentId, bytes32 expected, bytes32 actual);

    /// @notice The payment's expiry has passed: no more deposits.
    /// @param paymentId The payment.
    /// @param expiry Its expiry.
    /// @param timestamp The current block time.
    error DepositAfterExpiry(bytes32 paymentId, uint64 expiry, uint256 timestamp);

    /// @notice The payment's expiry has not passed yet.
    /// @param paymentId The payment.
    /// @param expiry Its expiry.
    /// @param timestamp The current block time.
    error PaymentNotExpired(bytes32 paymentId, uint64 expiry, uint256 timestamp);

    /// @notice The payment's deposit address holds enough of a token the payment accepts to complete it, which the
    /// operator may still collect as paid in time: until the window ends only the operator may expire it.
    /// @param paymentId The payment.
    /// @param depositAddress The deposit address.
    /// @param token The token waiting there.
    /// @param amount Token units of it waiting there.
    /// @param receivedUsd What the payment would have received in `token` with them, at the current price: at least
    /// its amount less the token's tolerance.
    /// @param windowEnd When anyone may expire it.
    error LateCollectPending(
        bytes32 paymentId, address depositAddress, address token, uint256 amount, uint256 receivedUsd, uint256 windowEnd
    );

    /// @notice The payment is not in a status that allows this operation.
    /// @param paymentId The payment.
    /// @param status Its status.
    error InvalidPaymentStatus(bytes32 paymentId, Status status);

    /// @notice The token is not accepted for new deposits.
    /// @param token The token.
    error TokenNotAllowed(address token);

    /// @notice The payment's intent does not accept this token.
    /// @param paymentId The payment.
    /// @param token The token offered.
    /// @param acceptedTokens The intent's accepted tokens (bit `i`: the token at index `i`).
    error TokenNotAccepted(bytes32 paymentId, address token, uint256 acceptedTokens);

    /// @notice The intent's expiry is further away than the escrow's longest time to live.
    /// @param paymentId The payment.
    /// @param expiry Its expiry.
    /// @param latest The latest expiry accepted now.
    error ExpiryTooFar(bytes32 paymentId, uint64 expiry, uint256 latest);

    /// @notice Nothing of this payment can be refunded in this token now: it is open, or this is the token that
    /// paid it.
    /// @param paymentId The payment.
    /// @param status Its status.
    /// @param token The token asked for.
    error NotRefundable(bytes32 paymentId, Status status, address token);

    /// @notice BNB must be paid with `payNative` (or sent to a deposit address), not with `pay` or a plain transfer
    /// to the escrow.
    error UseNativePayment();

    /// @notice The deposit address holds none of this token.
    /// @param paymentId The payment.
    /// @param token The token.
    /// @param depositAddress The deposit address.
    error NothingToCollect(bytes32 paymentId, address token, address depositAddress);

    /// @notice What the deposit address holds can still be collected into the payment: use `collect`.
    /// @param paymentId The payment.
    /// @param token The token.
    error DepositCollectable(bytes32 paymentId, address token);

    /// @notice A refund is larger than what was collected from the deposit address and not yet refunded.
    /// @param paymentId The payment.
    /// @param requested Token units asked for.
    /// @param deposited Token units left to refund.
    error RefundExceedsDeposit(bytes32 paymentId, uint256 requested, uint256 deposited);

    /// @notice An amount of zero was given.
    error ZeroAmount();

    /// @notice An amount does not fit the escrow's storage.
    /// @param amount The amount: token units, or the USD value they would bring the payment to.
    /// @param max The largest accepted.
    error AmountTooLarge(uint256 amount, uint256 max);

    /// @notice The token delivered less than it was asked to transfer (fee-on-transfer tokens are not supported).
    /// @param token The token.
    /// @param expected Token units asked for.
    /// @param received Token units that arrived.
    error FeeOnTransferToken(address token, uint256 expected, uint256 received);

    /// @notice Deposits are paused.
    error DepositsPaused();

    /// @notice The merchant's balance is too small.
    /// @param merchant The merchant.
    /// @param token The token.
    /// @param requested Token units asked for.
    /// @param available Token units in the balance.
    error InsufficientMerchantBalance(address merchant, address token, uint256 requested, uint256 available);

    /// @notice A refund is larger than what is left to refund of the payment.
    /// @param paymentId The payment.
    /// @param requested Token units asked for.
    /// @param refundable Token units paid and not yet refunded.
    error RefundExceedsPayment(bytes32 paymentId, uint256 requested, uint256 refundable);

    /// @notice The caller is not the merchant of the payment.
    /// @param paymentId The payment.
    /// @param caller The caller.
    error NotPaymentMerchant(bytes32 paymentId, address caller);

    /// @notice The caller is not a registered merchant.
    /// @param account The caller.
    error MerchantNotRegistered(address account);

    /// @notice The merchant is registered already.
    /// @param merchant The merchant.
    error MerchantAlreadyRegistered(address merchant);

    /// @notice A required address was zero.
    /// @param what Which one: "admin", "merchant", "payout", "signer", "recipient", "treasury" or "feed".
    error ZeroAddress(string what);

    /// @notice An address that would receive funds is the escrow itself, where they would stop being owed to anyone
    /// and become rescuable.
    /// @param what Which one: "payout", "recipient", "refundTo", "beneficiary" or "treasury".
    error EscrowAsReceiver(string what);

    /// @notice Nothing is claimable.
    /// @param token The token.
    /// @param account The account.
    error NothingToClaim(address token, address account);

    /// @notice A BNB transfer to an address the caller chose failed.
    /// @param to The receiver.
    /// @param amount Wei.
    error NativeTransferFailed(address to, uint256 amount);

    /// @notice A rescue would take funds the escrow owes.
    /// @param token The token.
    /// @param requested Token units asked for.
    /// @param surplus Token units held beyond what is owed.
    error RescueExceedsSurplus(address token, uint256 requested, uint256 surplus);

    /// @notice The tolerance is above the hard cap.
    /// @param bps The tolerance asked for.
    /// @param max The cap.
    error ToleranceTooHigh(uint256 bps, uint256 max);

    /// @notice The fee is above the hard cap.
    /// @param bps The fee asked for.
    /// @param max The cap.
    error FeeTooHigh(uint256 bps, uint256 max);

    /// @notice The time-to-live limit is zero or above the cap.
    /// @param maxTtlHours The limit asked for.
    /// @param cap The largest accepted.
    error InvalidMaxTtl(uint256 maxTtlHours, uint256 cap);

    /// @notice The staleness limit is zero or above the cap.
    /// @param maxStaleness The limit asked for.
    /// @param cap The largest accepted.
    error InvalidStaleness(uint256 maxStaleness, uint256 cap);

    /// @notice The token or feed reports more decimals than supported.
    /// @param token The token.
    /// @param decimals The decimals reported.
    error UnsupportedDecimals(address token, uint8 decimals);

    /// @notice No more tokens can be registered.
    error TooManyTokens();

    // ---------------------------------------------------------------------------------------------
    // Constants
    // ---------------------------------------------------------------------------------------------

    /// @notice The token address that stands for BNB.
    /// @return The zero address.
    function NATIVE() external view returns (address);

    /// @notice Role that registers merchants and can revoke (never add) their signers.
    /// @return The role's id.
    function SIGNER_MANAGER_ROLE() external view returns (bytes32);

    /// @notice Role that can pause and resume new deposits.
    /// @return The role's id.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice Role (the keeper) that says where deposit-address deposits go back when the intent names no
    /// refund address (a plain transfer does not tell the escrow who sent it), and may collect late.
    /// @return The role's id.
    function OPERATOR_ROLE() external view returns (bytes32);

    /// @notice EIP-712 type hash of a payment intent.
    /// @return The type hash.
    function PAYMENT_INTENT_TYPEHASH() external view returns (bytes32);

    /// @notice How long after a payment's expiry the operator may still collect a transfer to its deposit
    /// address that arrived in time, so that a payment paid before its expiry is never expired because the
    /// collect came late. Meanwhile only the operator may expire the payment while its deposit address holds
    /// a token the payment accepts.
    /// @return The window, in seconds.
    function LATE_COLLECT_WINDOW() external view returns (uint256);

    /// @notice The EIP-712 digest of an intent: what its signer signs, and the payment's binding on chain.
    /// @param intent The intent.
    /// @return The digest.
    function hashIntent(PaymentIntent calldata intent) external view returns (bytes32);
}
