// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {TransientSlot} from "@openzeppelin/contracts/utils/TransientSlot.sol";

import {DepositForwarder} from "./DepositForwarder.sol";
import {IOpenPayEscrow} from "./interfaces/IOpenPayEscrow.sol";
import {PriceMath} from "./libraries/PriceMath.sol";

/// @title OpenPayEscrow
/// @author Open Pay
/// @notice Takes USDT, USDC and BNB payments against merchants' signed intents, values them with Chainlink,
/// and holds each merchant's balance until the merchant withdraws it. No role can move merchant balances or
/// open deposits: the admin configures tokens, tolerance and fee; the signer manager onboards merchants; the
/// pauser stops new deposits only; the operator (keeper) chooses where deposit-address refunds go when an intent
/// names no refund address (docs/security.md).
/// Every payment also has a deposit address (a clone of `DepositForwarder` at a CREATE2 address salted with the
/// intent's digest) that any wallet or exchange can pay by a plain transfer; `collect` brings such deposits in
/// under exactly the rules of a direct payment.
/// @dev A payment costs one new storage slot when paid in full at once; an underpaid payment also stores
/// its intent's digest and each payer's deposit so that it can be topped up or refunded.
contract OpenPayEscrow is IOpenPayEscrow, EIP712, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using TransientSlot for *;

    /// @notice Role that registers merchants and can revoke (never add) their signers.
    bytes32 public constant SIGNER_MANAGER_ROLE = keccak256("SIGNER_MANAGER_ROLE");

    /// @notice Role that can pause and resume new deposits.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Role (the keeper) that says where deposit-address deposits go back when the intent names no
    /// refund address: a plain transfer does not tell the escrow who sent it.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice EIP-712 type of a payment intent.
    bytes32 public constant PAYMENT_INTENT_TYPEHASH = keccak256(
        "PaymentIntent(bytes32 paymentId,address merchant,uint256 amountUsd,uint64 expiry,address refundTo)"
    );

    /// @notice The token address that stands for BNB.
    address public constant NATIVE = address(0);

    /// @notice Tolerance at deployment: 1%.
    uint16 public constant DEFAULT_TOLERANCE_BPS = 100;

    /// @notice Hard cap of the tolerance: 5%.
    uint16 public constant MAX_TOLERANCE_BPS = 500;

    /// @notice Hard cap of the platform fee: 5%.
    uint16 public constant MAX_FEE_BPS = 500;

    /// @notice Longest staleness limit a feed may be given.
    uint32 public constant MAX_STALENESS_CAP = 2 days;

    /// @notice Gas forwarded when pushing a BNB refund; a receiver that needs more claims instead.
    uint256 public constant NATIVE_PUSH_GAS = 50_000;

    /// @notice How long after a payment's expiry the operator may still collect a transfer to its deposit
    /// address that arrived in time (the keeper checks the Transfer's block), so that a payment paid before its
    /// expiry is never expired because the collect came late. Meanwhile only the operator may expire the payment
    /// while its deposit address holds the payment's token.
    uint256 public constant LATE_COLLECT_WINDOW = 1 hours;

    /// @notice Gas a stray's sweep to its receiver may use; a receiver that fails it claims instead.
    uint256 public constant STRAY_PUSH_GAS = 100_000;

    /// @notice The implementation behind every deposit address, deployed with the escrow.
    address public immutable FORWARDER_IMPLEMENTATION;

    uint8 private constant _MAX_DECIMALS = 36;

    /// @dev Transient slot holding the deposit address whose BNB is being swept in.
    bytes32 private constant _SWEPT_FROM = keccak256("OpenPay.sweptFrom");

    Settings private _settings;
    uint8 private _tokenCount;
    uint32 private _merchantCount;

    mapping(bytes32 paymentId => Payment) private _payments;
    /// @dev Digest of the intent an open or expired payment was opened with: later calls must repeat it.
    mapping(bytes32 paymentId => bytes32 digest) private _intentDigests;
    mapping(bytes32 paymentId => mapping(address payer => uint256 amount)) private _deposits;
    mapping(bytes32 paymentId => uint256 amount) private _refunded;

    mapping(address merchant => Merchant) private _merchants;
    /// @dev Maps to the merchant's id rather than a flag, so a payment learns both with one read.
    mapping(address merchant => mapping(address signer => uint32 merchantId)) private _signerMerchantIds;
    mapping(address merchant => mapping(address token => uint256 amount)) private _balances;
    mapping(address token => mapping(address account => uint256 amount)) private _claimable;

    mapping(address token => TokenConfig) private _tokens;
    mapping(uint8 index => address token) private _tokenAt;
    mapping(address token => TokenLedger) private _ledgers;

    /// @notice Deploys the escrow with a 1% tolerance, no fee, and no token, merchant or role but the admin.
    /// @param admin The default admin (use a multisig or hardware wallet).
    /// @param treasury Receiver of platform fees (may be zero while the fee is zero).
    constructor(address admin, address treasury) EIP712("OpenPayEscrow", "1") {
        if (admin == address(0)) revert ZeroAddress("admin");
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        FORWARDER_IMPLEMENTATION = address(new DepositForwarder());
        if (treasury == address(this)) revert EscrowAsReceiver("treasury");
        _settings = Settings({toleranceBps: DEFAULT_TOLERANCE_BPS, feeBps: 0, paused: false, treasury: treasury});
        if (treasury != address(0)) emit TreasuryUpdated(treasury);
    }

    // ---------------------------------------------------------------------------------------------
    // Paying
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IOpenPayEscrow
    function pay(PaymentIntent calldata intent, bytes calldata signature, address token, uint256 amount)
        external
        nonReentrant
    {
        if (token == NATIVE) revert UseNativePayment();
        _deposit(intent, signature, hashIntent(intent), token, amount, msg.sender, intent.expiry);
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        _requireArrived(token, before, amount);
    }

    /// @notice Takes BNB only from the deposit address being swept into the escrow; BNB sent any other way
    /// (even by a refund receiver during a call) could not be matched to a payment or to what the escrow owes.
    receive() external payable {
        if (msg.sender != _SWEPT_FROM.asAddress().tload()) revert UseNativePayment();
    }

    /// @inheritdoc IOpenPayEscrow
    function payNative(PaymentIntent calldata intent, bytes calldata signature) external payable nonReentrant {
        _deposit(intent, signature, hashIntent(intent), NATIVE, msg.value, msg.sender, intent.expiry);
    }

    /// @inheritdoc IOpenPayEscrow
    function collect(PaymentIntent calldata intent, bytes calldata signature, address token)
        external
        nonReentrant
        returns (uint256 amount)
    {
        // Checked again in _deposit; checked first so that nothing unknown is called as a token.
        if (!_tokens[token].allowed) revert TokenNotAllowed(token);
        bytes32 digest = hashIntent(intent);
        address depositAddress = _depositAddress(digest);
        amount = _balanceAt(token, depositAddress);
        if (amount == 0) revert NothingToCollect(intent.paymentId, token, depositAddress);
        uint256 deadline = intent.expiry;
        if (block.timestamp > deadline && hasRole(OPERATOR_ROLE, msg.sender)) deadline += LATE_COLLECT_WINDOW;
        // The deposit address stands in as the payer: a plain transfer does not say who sent it.
        _deposit(intent, signature, digest, token, amount, depositAddress, deadline);
        _sweepIn(_forwarder(depositAddress, digest), token, amount);
    }

    /// @inheritdoc IOpenPayEscrow
    function expire(PaymentIntent calldata intent, address[] calldata payers) external nonReentrant {
        bytes32 paymentId = intent.paymentId;
        Payment memory payment = _payments[paymentId];
        if (payment.status != Status.Open && payment.status != Status.Expired) {
            revert InvalidPaymentStatus(paymentId, payment.status);
        }
        bytes32 digest = _requireBoundIntent(paymentId, intent);
        address token = _tokenAt[payment.tokenIndex];
        // Deposits collected from the deposit address cannot go back there; without a refund address in the
        // intent the operator sends them back with refundDepositAddress.
        address depositAddress = _depositAddress(digest);
        address keptForOperator = intent.refundTo == address(0) ? depositAddress : address(0);
        if (payment.status == Status.Open) {
            if (block.timestamp <= intent.expiry) {
                revert PaymentNotExpired(paymentId, intent.expiry, block.timestamp);
            }
            uint256 windowEnd = intent.expiry + LATE_COLLECT_WINDOW;
            if (
                block.timestamp <= windowEnd && _balanceAt(token, depositAddress) != 0
                    && !hasRole(OPERATOR_ROLE, msg.sender)
            ) revert LateCollectPending(paymentId, depositAddress, windowEnd);
            _payments[paymentId].status = Status.Expired;
            emit PaymentExpired(paymentId, token, payment.amount, payment.receivedUsd);
        }
        for (uint256 i; i < payers.length; ++i) {
            address payer = payers[i];
            uint256 amount = _deposits[paymentId][payer];
            if (amount == 0 || payer == keptForOperator) continue;
            delete _deposits[paymentId][payer];
            address to = intent.refundTo == address(0) ? payer : intent.refundTo;
            emit DepositRefunded(paymentId, payer, to, token, amount);
            _pushOrCredit(paymentId, token, to, amount);
        }
    }

    /// @inheritdoc IOpenPayEscrow
    function refundDepositAddress(PaymentIntent calldata intent, address to, uint256 amount) external nonReentrant {
        bytes32 paymentId = intent.paymentId;
        Payment memory payment = _payments[paymentId];
        if (payment.status != Status.Expired) revert InvalidPaymentStatus(paymentId, payment.status);
        bytes32 digest = _requireBoundIntent(paymentId, intent);
        address receiver = _refundReceiver(intent, to);
        if (amount == 0) revert ZeroAmount();
        address depositAddress = _depositAddress(digest);
        uint256 deposited = _deposits[paymentId][depositAddress];
        if (amount > deposited) revert RefundExceedsDeposit(paymentId, amount, deposited);
        _deposits[paymentId][depositAddress] = deposited - amount;
        address token = _tokenAt[payment.tokenIndex];
        emit DepositRefunded(paymentId, depositAddress, receiver, token, amount);
        _pushOrCredit(paymentId, token, receiver, amount);
    }

    /// @inheritdoc IOpenPayEscrow
    function returnStray(PaymentIntent calldata intent, address token, address to)
        external
        nonReentrant
        returns (uint256 amount)
    {
        bytes32 paymentId = intent.paymentId;
        bytes32 digest = hashIntent(intent);
        if (_collectable(intent, digest, token)) revert DepositCollectable(paymentId, token);
        address receiver = _refundReceiver(intent, to);
        address depositAddress = _depositAddress(digest);
        amount = _balanceAt(token, depositAddress);
        if (amount == 0) revert NothingToCollect(paymentId, token, depositAddress);
        emit StrayReturned(paymentId, depositAddress, receiver, token, amount);
        DepositForwarder forwarder = _forwarder(depositAddress, digest);
        // solhint-disable-next-line no-empty-blocks
        try forwarder.sweep{gas: STRAY_PUSH_GAS}(token, receiver, amount) {}
        catch {
            // The receiver cannot take it (blacklisted, rejects BNB): the escrow holds it, claimable by the receiver.
            _sweepIn(forwarder, token, amount);
            _ledgers[token].owed += amount.toUint128();
            _claimable[token][receiver] += amount;
            emit RefundClaimable(paymentId, receiver, token, amount);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Merchants
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IOpenPayEscrow
    function withdraw(address token, uint256 amount) external nonReentrant {
        address payout = _merchants[msg.sender].payout;
        if (payout == address(0)) revert MerchantNotRegistered(msg.sender);
        _debit(msg.sender, token, amount);
        _ledgers[token].owed -= uint128(amount);
        emit Withdrawn(msg.sender, payout, token, amount);
        _send(token, payout, amount);
    }

    /// @inheritdoc IOpenPayEscrow
    function refund(bytes32 paymentId, address to, uint256 amount) external nonReentrant {
        _requireReceiver(to, "recipient");
        Payment memory payment = _payments[paymentId];
        if (payment.status != Status.Completed && payment.status != Status.PartiallyRefunded) {
            revert InvalidPaymentStatus(paymentId, payment.status);
        }
        if (_merchants[msg.sender].id != payment.merchantId) revert NotPaymentMerchant(paymentId, msg.sender);
        uint256 refundedBefore = _refunded[paymentId];
        uint256 refundable = payment.amount - refundedBefore;
        if (amount > refundable) revert RefundExceedsPayment(paymentId, amount, refundable);
        address token = _tokenAt[payment.tokenIndex];
        _debit(msg.sender, token, amount);
        uint256 refundedTotal = refundedBefore + amount;
        _refunded[paymentId] = refundedTotal;
        _payments[paymentId].status = amount == refundable ? Status.Refunded : Status.PartiallyRefunded;
        emit PaymentRefunded(paymentId, msg.sender, to, token, amount, refundedTotal);
        _pushOrCredit(paymentId, token, to, amount);
    }

    /// @inheritdoc IOpenPayEscrow
    function setPayout(address payout) external {
        _requireReceiver(payout, "payout");
        Merchant storage merchant = _registeredMerchant(msg.sender);
        merchant.payout = payout;
        emit PayoutUpdated(msg.sender, payout);
    }

    /// @inheritdoc IOpenPayEscrow
    function setSigner(address signer, bool authorised) external {
        if (signer == address(0)) revert ZeroAddress("signer");
        uint32 id = _registeredMerchant(msg.sender).id;
        _signerMerchantIds[msg.sender][signer] = authorised ? id : 0;
        emit SignerUpdated(msg.sender, signer, authorised);
    }

    // ---------------------------------------------------------------------------------------------
    // Claims and fees
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IOpenPayEscrow
    function claim(address token, address to) external nonReentrant {
        _requireReceiver(to, "recipient");
        uint256 amount = _claimable[token][msg.sender];
        if (amount == 0) revert NothingToClaim(token, msg.sender);
        delete _claimable[token][msg.sender];
        _ledgers[token].owed -= uint128(amount);
        emit RefundClaimed(msg.sender, to, token, amount);
        _send(token, to, amount);
    }

    /// @inheritdoc IOpenPayEscrow
    function withdrawFees(address token) external nonReentrant {
        address treasury = _settings.treasury;
        if (treasury == address(0)) revert ZeroAddress("treasury");
        TokenLedger memory ledger = _ledgers[token];
        if (ledger.fees == 0) revert NothingToClaim(token, treasury);
        _ledgers[token] = TokenLedger({owed: ledger.owed - ledger.fees, fees: 0});
        emit FeesWithdrawn(treasury, token, ledger.fees);
        _send(token, treasury, ledger.fees);
    }

    // ---------------------------------------------------------------------------------------------
    // Operator roles
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IOpenPayEscrow
    function registerMerchant(address merchant, address payout, address signer)
        external
        onlyRole(SIGNER_MANAGER_ROLE)
    {
        if (merchant == address(0)) revert ZeroAddress("merchant");
        _requireReceiver(payout, "payout");
        if (signer == address(0)) revert ZeroAddress("signer");
        if (_merchants[merchant].id != 0) revert MerchantAlreadyRegistered(merchant);
        uint32 id = ++_merchantCount;
        _merchants[merchant] = Merchant({id: id, payout: payout});
        _signerMerchantIds[merchant][signer] = id;
        emit MerchantRegistered(merchant, id, payout, signer);
        emit SignerUpdated(merchant, signer, true);
    }

    /// @inheritdoc IOpenPayEscrow
    function revokeSigner(address merchant, address signer) external onlyRole(SIGNER_MANAGER_ROLE) {
        delete _signerMerchantIds[merchant][signer];
        emit SignerUpdated(merchant, signer, false);
    }

    /// @inheritdoc IOpenPayEscrow
    function setToken(address token, address feed, uint32 maxStaleness) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feed == address(0)) revert ZeroAddress("feed");
        if (maxStaleness == 0 || maxStaleness > MAX_STALENESS_CAP) {
            revert InvalidStaleness(maxStaleness, MAX_STALENESS_CAP);
        }
        uint8 decimals = token == NATIVE ? 18 : IERC20Metadata(token).decimals();
        if (decimals > _MAX_DECIMALS) revert UnsupportedDecimals(token, decimals);
        uint8 feedDecimals = AggregatorV3Interface(feed).decimals();
        if (feedDecimals > _MAX_DECIMALS) revert UnsupportedDecimals(feed, feedDecimals);
        uint8 index = _tokens[token].index;
        if (index == 0) {
            if (_tokenCount == type(uint8).max) revert TooManyTokens();
            index = ++_tokenCount;
            _tokenAt[index] = token;
        }
        Settings memory global = _settings;
        _tokens[token] = TokenConfig({
            feed: feed,
            maxStaleness: uint24(maxStaleness), // at most MAX_STALENESS_CAP, far below 2^24
            decimals: decimals,
            feedDecimals: feedDecimals,
            index: index,
            allowed: true,
            toleranceBps: global.toleranceBps,
            feeBps: global.feeBps,
            paused: global.paused
        });
        emit TokenConfigured(token, feed, maxStaleness, index);
    }

    /// @inheritdoc IOpenPayEscrow
    function disallowToken(address token) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_tokens[token].allowed) revert TokenNotAllowed(token);
        _tokens[token].allowed = false;
        emit TokenDisallowed(token);
    }

    /// @inheritdoc IOpenPayEscrow
    function setTolerance(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bps > MAX_TOLERANCE_BPS) revert ToleranceTooHigh(bps, MAX_TOLERANCE_BPS);
        emit ToleranceUpdated(_settings.toleranceBps, bps);
        _settings.toleranceBps = bps;
        _copySettingsToTokens();
    }

    /// @inheritdoc IOpenPayEscrow
    function setFee(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bps > MAX_FEE_BPS) revert FeeTooHigh(bps, MAX_FEE_BPS);
        if (bps != 0 && _settings.treasury == address(0)) revert ZeroAddress("treasury");
        emit FeeUpdated(_settings.feeBps, bps);
        _settings.feeBps = bps;
        _copySettingsToTokens();
    }

    /// @inheritdoc IOpenPayEscrow
    function setTreasury(address treasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireReceiver(treasury, "treasury");
        _settings.treasury = treasury;
        emit TreasuryUpdated(treasury);
    }

    /// @inheritdoc IOpenPayEscrow
    function rescue(address token, address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        _requireReceiver(to, "recipient");
        if (amount == 0) revert ZeroAmount();
        uint256 held = token == NATIVE ? address(this).balance : IERC20(token).balanceOf(address(this));
        uint256 owed = _ledgers[token].owed;
        uint256 surplus = held > owed ? held - owed : 0;
        if (amount > surplus) revert RescueExceedsSurplus(token, amount, surplus);
        emit Rescued(token, to, amount);
        _send(token, to, amount);
    }

    /// @inheritdoc IOpenPayEscrow
    function pause() external onlyRole(PAUSER_ROLE) {
        _settings.paused = true;
        _copySettingsToTokens();
        emit Paused(msg.sender);
    }

    /// @inheritdoc IOpenPayEscrow
    function unpause() external onlyRole(PAUSER_ROLE) {
        _settings.paused = false;
        _copySettingsToTokens();
        emit Unpaused(msg.sender);
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IOpenPayEscrow
    function hashIntent(PaymentIntent calldata intent) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(PAYMENT_INTENT_TYPEHASH, intent)));
    }

    /// @inheritdoc IOpenPayEscrow
    function depositAddressOf(PaymentIntent calldata intent) external view returns (address) {
        return _depositAddress(hashIntent(intent));
    }

    /// @inheritdoc IOpenPayEscrow
    function remainingUsd(PaymentIntent calldata intent) external view returns (uint256 remaining) {
        Payment memory payment = _payments[intent.paymentId];
        if (block.timestamp > intent.expiry) return 0;
        if (payment.status == Status.None) return intent.amountUsd;
        if (payment.status != Status.Open) return 0;
        _requireBoundIntent(intent.paymentId, intent);
        // What was received is worth today's price, as the next deposit will count it.
        TokenConfig memory config = _tokens[_tokenAt[payment.tokenIndex]];
        uint256 price = PriceMath.freshPrice(config.feed, config.maxStaleness, config.feedDecimals);
        uint256 worth = PriceMath.usdValue(payment.amount, price, config.decimals, config.feedDecimals);
        if (worth < intent.amountUsd) remaining = intent.amountUsd - worth;
    }

    /// @inheritdoc IOpenPayEscrow
    function paymentOf(bytes32 paymentId) external view returns (Payment memory) {
        return _payments[paymentId];
    }

    /// @inheritdoc IOpenPayEscrow
    function depositOf(bytes32 paymentId, address payer) external view returns (uint256) {
        Status status = _payments[paymentId].status;
        // Deposits of a completed payment belong to the merchant: nothing is refundable to the payer.
        if (status != Status.Open && status != Status.Expired) return 0;
        return _deposits[paymentId][payer];
    }

    /// @inheritdoc IOpenPayEscrow
    function refundedOf(bytes32 paymentId) external view returns (uint256) {
        return _refunded[paymentId];
    }

    /// @inheritdoc IOpenPayEscrow
    function balanceOf(address merchant, address token) external view returns (uint256) {
        return _balances[merchant][token];
    }

    /// @inheritdoc IOpenPayEscrow
    function claimableOf(address token, address account) external view returns (uint256) {
        return _claimable[token][account];
    }

    /// @inheritdoc IOpenPayEscrow
    function ledgerOf(address token) external view returns (TokenLedger memory) {
        return _ledgers[token];
    }

    /// @inheritdoc IOpenPayEscrow
    function tokenConfigOf(address token) external view returns (TokenConfig memory) {
        return _tokens[token];
    }

    /// @inheritdoc IOpenPayEscrow
    function tokenAt(uint8 index) external view returns (address) {
        return _tokenAt[index];
    }

    /// @inheritdoc IOpenPayEscrow
    function merchantOf(address merchant) external view returns (Merchant memory) {
        return _merchants[merchant];
    }

    /// @inheritdoc IOpenPayEscrow
    function isSigner(address merchant, address signer) external view returns (bool) {
        return _signerMerchantIds[merchant][signer] != 0;
    }

    /// @inheritdoc IOpenPayEscrow
    function settings() external view returns (Settings memory) {
        return _settings;
    }

    /// @inheritdoc IOpenPayEscrow
    function quoteUsd(address token, uint256 amount) external view returns (uint256) {
        TokenConfig memory config = _tokens[token];
        if (config.feed == address(0)) revert TokenNotAllowed(token);
        uint256 price = PriceMath.freshPrice(config.feed, config.maxStaleness, config.feedDecimals);
        return PriceMath.usdValue(amount, price, config.decimals, config.feedDecimals);
    }

    // ---------------------------------------------------------------------------------------------
    // Internal
    // ---------------------------------------------------------------------------------------------

    /// @dev Records a deposit: checks the intent and the price, then completes the payment or keeps it open.
    /// Only effects: the caller moves the funds afterwards.
    function _deposit(
        PaymentIntent calldata intent,
        bytes calldata signature,
        bytes32 digest,
        address token,
        uint256 amount,
        address payer,
        uint256 deadline
    ) private {
        TokenConfig memory tokenConfig = _tokens[token];
        if (tokenConfig.paused) revert DepositsPaused();
        if (amount == 0) revert ZeroAmount();
        _toUint104(amount);
        if (!tokenConfig.allowed) revert TokenNotAllowed(token);
        Payment memory payment = _admit(intent, signature, digest, token, tokenConfig.index, deadline);
        Status previous = payment.status;

        uint256 price = PriceMath.freshPrice(tokenConfig.feed, tokenConfig.maxStaleness, tokenConfig.feedDecimals);
        uint256 valueUsd = PriceMath.usdValue(amount, price, tokenConfig.decimals, tokenConfig.feedDecimals);
        uint256 receivedUsd = valueUsd;
        if (previous == Status.Open) {
            // The whole amount received is valued again at today's price: a payer who waits after a partial
            // deposit bears the price change, never the merchant (docs/contracts.md, "Valuation").
            receivedUsd = PriceMath.usdValue(payment.amount + amount, price, tokenConfig.decimals, tokenConfig.feedDecimals);
        }
        payment.amount = uint104(_toUint104(payment.amount + amount));
        payment.receivedUsd = uint104(_toUint104(receivedUsd));
        _ledgers[token].owed += amount.toUint128();

        if (PriceMath.covers(payment.receivedUsd, intent.amountUsd, tokenConfig.toleranceBps)) {
            payment.status = Status.Completed;
            _payments[intent.paymentId] = payment;
            if (previous == Status.Open) delete _intentDigests[intent.paymentId];
            _settle(intent, payment, payer, token, amount, valueUsd, tokenConfig.feeBps);
        } else {
            payment.status = Status.Open;
            _payments[intent.paymentId] = payment;
            if (previous == Status.None) _intentDigests[intent.paymentId] = digest;
            _deposits[intent.paymentId][payer] += amount;
            _emitDeposited(intent, payer, token, amount, valueUsd, payment.receivedUsd);
        }
    }

    /// @dev Loads the payment a deposit is for and checks that the deposit may join it.
    function _admit(
        PaymentIntent calldata intent,
        bytes calldata signature,
        bytes32 digest,
        address token,
        uint8 tokenIndex,
        uint256 deadline
    ) private view returns (Payment memory payment) {
        bytes32 paymentId = intent.paymentId;
        payment = _payments[paymentId];
        if (payment.status != Status.None && payment.status != Status.Open) {
            revert InvalidPaymentStatus(paymentId, payment.status);
        }
        if (block.timestamp > deadline) revert DepositAfterExpiry(paymentId, intent.expiry, block.timestamp);
        if (payment.status == Status.None) {
            payment.merchantId = _authorisedMerchantId(intent, digest, signature);
            payment.tokenIndex = tokenIndex;
        } else {
            bytes32 bound = _intentDigests[paymentId];
            if (bound != digest) revert IntentMismatch(paymentId, bound, digest);
            if (payment.tokenIndex != tokenIndex) revert TokenMismatch(paymentId, _tokenAt[payment.tokenIndex], token);
        }
    }

    /// @dev Emits a deposit that leaves the payment open.
    function _emitDeposited(
        PaymentIntent calldata intent,
        address payer,
        address token,
        uint256 amount,
        uint256 valueUsd,
        uint256 receivedUsd
    ) private {
        // An open payment has received less than amount × (1 − tolerance), so this cannot underflow.
        uint256 remaining = intent.amountUsd - receivedUsd;
        emit PaymentDeposited(intent.paymentId, intent.merchant, payer, token, amount, valueUsd, receivedUsd, remaining);
    }

    /// @dev Credits a completed payment to its merchant, less the platform fee, and emits the completing deposit.
    function _settle(
        PaymentIntent calldata intent,
        Payment memory payment,
        address payer,
        address token,
        uint256 amount,
        uint256 valueUsd,
        uint256 feeBps
    ) private {
        uint256 fee = payment.amount * feeBps / PriceMath.BPS;
        _balances[intent.merchant][token] += payment.amount - fee;
        if (fee != 0) _ledgers[token].fees += fee.toUint128();
        uint256 receivedUsd = payment.receivedUsd;
        uint256 excessUsd = receivedUsd > intent.amountUsd ? receivedUsd - intent.amountUsd : 0;
        emit PaymentCompleted(
            intent.paymentId, intent.merchant, payer, token, amount, valueUsd, receivedUsd, excessUsd, fee
        );
    }

    /// @dev Checks a new payment's intent: an id in the merchant's namespace, a positive amount that fits,
    /// signed by a signer of its merchant.
    function _authorisedMerchantId(PaymentIntent calldata intent, bytes32 digest, bytes calldata signature)
        private
        view
        returns (uint32 merchantId)
    {
        if (address(bytes20(intent.paymentId)) != intent.merchant) {
            revert PaymentIdNotOfMerchant(intent.paymentId, intent.merchant);
        }
        if (intent.amountUsd == 0) revert ZeroPaymentAmount(intent.paymentId);
        _toUint104(intent.amountUsd);
        if (intent.refundTo == address(this)) revert EscrowAsReceiver("refundTo");
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecover(digest, signature);
        if (error != ECDSA.RecoverError.NoError) revert InvalidSignature(intent.paymentId);
        merchantId = _signerMerchantIds[intent.merchant][signer];
        if (merchantId == 0) revert UnauthorisedSigner(intent.merchant, signer);
    }

    /// @dev Reverts unless `intent` is the intent the payment was opened with; returns its digest.
    function _requireBoundIntent(bytes32 paymentId, PaymentIntent calldata intent)
        private
        view
        returns (bytes32 digest)
    {
        digest = hashIntent(intent);
        bytes32 bound = _intentDigests[paymentId];
        if (bound != digest) revert IntentMismatch(paymentId, bound, digest);
    }

    /// @dev Whether `token` at the intent's deposit address could still be collected, now or later (never for an
    /// intent naming the escrow as `refundTo`, which no deposit accepts).
    function _collectable(PaymentIntent calldata intent, bytes32 digest, address token) private view returns (bool) {
        // Past the expiry only the operator may still collect, until the late-collect window closes.
        uint256 until = intent.expiry;
        if (!hasRole(OPERATOR_ROLE, msg.sender)) until += LATE_COLLECT_WINDOW;
        if (block.timestamp > until || intent.refundTo == address(this)) return false;
        TokenConfig memory tokenConfig = _tokens[token];
        if (!tokenConfig.allowed) return false;
        Payment memory payment = _payments[intent.paymentId];
        if (payment.status == Status.None) return true;
        return payment.status == Status.Open && payment.tokenIndex == tokenConfig.index
            && _intentDigests[intent.paymentId] == digest;
    }

    /// @dev Where a deposit-address refund goes: the intent's refund address, else the operator's choice. An intent
    /// naming the escrow could never be paid, and what reached its deposit address goes where the operator says.
    function _refundReceiver(PaymentIntent calldata intent, address to) private view returns (address) {
        if (intent.refundTo != address(0) && intent.refundTo != address(this)) return intent.refundTo;
        _checkRole(OPERATOR_ROLE);
        _requireReceiver(to, "recipient");
        return to;
    }

    /// @dev Reverts unless `to` may receive funds: not zero, and not the escrow, where they would stop being owed.
    function _requireReceiver(address to, string memory what) private view {
        if (to == address(0)) revert ZeroAddress(what);
        if (to == address(this)) revert EscrowAsReceiver(what);
    }

    /// @dev The deposit address of the intent with this digest.
    function _depositAddress(bytes32 digest) private view returns (address) {
        return Clones.predictDeterministicAddress(FORWARDER_IMPLEMENTATION, digest);
    }

    /// @dev The forwarder at a deposit address, deployed first if nothing was collected from it yet.
    function _forwarder(address depositAddress, bytes32 digest) private returns (DepositForwarder) {
        if (depositAddress.code.length == 0) Clones.cloneDeterministic(FORWARDER_IMPLEMENTATION, digest);
        return DepositForwarder(payable(depositAddress));
    }

    /// @dev Moves `amount` of `token` from a deposit address into the escrow, exactly. The deposit address is the
    /// only sender `receive` accepts, and only during its sweep.
    function _sweepIn(DepositForwarder forwarder, address token, uint256 amount) private {
        uint256 before = _balanceAt(token, address(this));
        TransientSlot.AddressSlot sweptFrom = _SWEPT_FROM.asAddress();
        if (token == NATIVE) sweptFrom.tstore(address(forwarder));
        forwarder.sweep(token, address(this), amount);
        if (token == NATIVE) sweptFrom.tstore(address(0));
        _requireArrived(token, before, amount);
    }

    /// @dev What `account` holds of `token` (zero address for BNB).
    function _balanceAt(address token, address account) private view returns (uint256) {
        return token == NATIVE ? account.balance : IERC20(token).balanceOf(account);
    }

    /// @dev Reverts unless exactly `amount` of `token` arrived since the escrow held `before`: a token that
    /// delivers another amount (fee on transfer) is rejected.
    function _requireArrived(address token, uint256 before, uint256 amount) private view {
        uint256 afterwards = _balanceAt(token, address(this));
        if (afterwards != before + amount) {
            revert FeeOnTransferToken(token, amount, afterwards > before ? afterwards - before : 0);
        }
    }

    /// @dev Sends a refund; if the receiver cannot take it, it becomes claimable and nothing else is blocked.
    function _pushOrCredit(bytes32 paymentId, address token, address to, uint256 amount) private {
        bool sent = token == NATIVE
            ? _trySendNative(to, amount, NATIVE_PUSH_GAS)
            : IERC20(token).trySafeTransfer(to, amount);
        if (sent) {
            _ledgers[token].owed -= uint128(amount);
        } else {
            _claimable[token][to] += amount;
            emit RefundClaimable(paymentId, to, token, amount);
        }
    }

    /// @dev Sends to an address the caller chose, reverting on failure.
    function _send(address token, address to, uint256 amount) private {
        if (token == NATIVE) {
            if (!_trySendNative(to, amount, gasleft())) revert NativeTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    /// @dev A plain call that copies no return data, so a hostile receiver cannot make the caller pay for it.
    function _trySendNative(address to, uint256 amount, uint256 gasLimit) private returns (bool sent) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sent := call(gasLimit, to, amount, 0, 0, 0, 0)
        }
    }

    /// @dev Takes `amount` from a merchant's balance.
    function _debit(address merchant, address token, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = _balances[merchant][token];
        if (amount > balance) revert InsufficientMerchantBalance(merchant, token, amount, balance);
        unchecked {
            _balances[merchant][token] = balance - amount;
        }
    }

    /// @dev The caller's merchant record, or a revert naming it.
    function _registeredMerchant(address account) private view returns (Merchant storage merchant) {
        merchant = _merchants[account];
        if (merchant.id == 0) revert MerchantNotRegistered(account);
    }

    /// @dev Copies the global tolerance, fee and pause flag into every token's configuration, where deposits
    /// read them with the rest of the token's settings (one storage read fewer per payment).
    function _copySettingsToTokens() private {
        Settings memory global = _settings;
        uint256 count = _tokenCount;
        for (uint256 i = 1; i <= count; ++i) {
            TokenConfig storage tokenConfig = _tokens[_tokenAt[uint8(i)]];
            tokenConfig.toleranceBps = global.toleranceBps;
            tokenConfig.feeBps = global.feeBps;
            tokenConfig.paused = global.paused;
        }
    }

    /// @dev Narrows to the width of stored amounts with an error that names the amount.
    function _toUint104(uint256 amount) private pure returns (uint256) {
        if (amount > type(uint104).max) revert AmountTooLarge(amount, type(uint104).max);
        return amount;
    }
}
