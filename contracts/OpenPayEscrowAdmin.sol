// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {AccessControlDefaultAdminRulesUpgradeable} from
    "@openzeppelin/contracts-upgradeable/access/extensions/AccessControlDefaultAdminRulesUpgradeable.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {EscrowStorage} from "./EscrowStorage.sol";
import {IOpenPayEscrowAdmin} from "./interfaces/IOpenPayEscrowAdmin.sol";
import {PriceMath} from "./libraries/PriceMath.sol";

/// @title OpenPayEscrowAdmin
/// @author Open Pay
/// @notice The administration half of the Open Pay escrow: tokens and their feeds, tolerance, fee, treasury,
/// merchants' registration, pausing, rescue, platform fees, roles, and every view of the escrow's records.
/// @dev Deployed by the escrow's constructor and reached only through the escrow's address: the escrow runs
/// every call it does not know here by delegatecall, on its own storage (`EscrowStorage`). Called directly, it
/// has no storage worth anything and cannot be initialised. It holds no payment logic and moves no funds but
/// the treasury's fees and what `rescue` may take (never what the escrow owes). The admin role moves in two
/// steps with a delay (OpenZeppelin's AccessControlDefaultAdminRules): one admin at a time, never granted
/// directly; the new admin accepts after the delay, which can itself change only after a wait.
contract OpenPayEscrowAdmin is EscrowStorage, IOpenPayEscrowAdmin, AccessControlDefaultAdminRulesUpgradeable {
    /// @inheritdoc IOpenPayEscrowAdmin
    uint16 public constant DEFAULT_TOLERANCE_BPS = 100;

    /// @inheritdoc IOpenPayEscrowAdmin
    uint16 public constant MAX_TOLERANCE_BPS = 500;

    /// @inheritdoc IOpenPayEscrowAdmin
    uint16 public constant MAX_FEE_BPS = 500;

    /// @inheritdoc IOpenPayEscrowAdmin
    uint32 public constant MAX_STALENESS_CAP = 2 days;

    /// @inheritdoc IOpenPayEscrowAdmin
    uint48 public constant INITIAL_ADMIN_DELAY = 1 days;

    /// @inheritdoc IOpenPayEscrowAdmin
    uint8 public constant DEFAULT_MAX_TTL_HOURS = 24;

    /// @inheritdoc IOpenPayEscrowAdmin
    uint8 public constant MAX_TTL_CAP_HOURS = 168;

    uint8 private constant _MAX_DECIMALS = 36;

    /// @notice Deploys the administration; it is initialised only in the escrow's storage, by the escrow.
    constructor() {
        _disableInitializers();
    }

    // ---------------------------------------------------------------------------------------------
    // Set-up and fees
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IOpenPayEscrowAdmin
    function initialize(address admin, address treasury) external initializer {
        if (admin == address(0)) revert ZeroAddress("admin");
        if (treasury == address(this)) revert EscrowAsReceiver("treasury");
        __AccessControlDefaultAdminRules_init(INITIAL_ADMIN_DELAY, admin);
        _settings = Settings({feeBps: 0, paused: false, treasury: treasury, maxTtlHours: DEFAULT_MAX_TTL_HOURS});
        if (treasury != address(0)) emit TreasuryUpdated(treasury);
    }

    /// @inheritdoc IOpenPayEscrowAdmin
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
    // Roles and configuration
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IOpenPayEscrowAdmin
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

    /// @inheritdoc IOpenPayEscrowAdmin
    function revokeSigner(address merchant, address signer) external onlyRole(SIGNER_MANAGER_ROLE) {
        delete _signerMerchantIds[merchant][signer];
        emit SignerUpdated(merchant, signer, false);
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function setToken(address token, address feed, uint32 maxStaleness) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feed == address(0)) revert ZeroAddress("feed");
        if (maxStaleness == 0 || maxStaleness > MAX_STALENESS_CAP) {
            revert InvalidStaleness(maxStaleness, MAX_STALENESS_CAP);
        }
        uint8 decimals = token == NATIVE ? 18 : IERC20Metadata(token).decimals();
        if (decimals > _MAX_DECIMALS) revert UnsupportedDecimals(token, decimals);
        uint8 feedDecimals = AggregatorV3Interface(feed).decimals();
        if (feedDecimals > _MAX_DECIMALS) revert UnsupportedDecimals(feed, feedDecimals);
        TokenConfig memory previous = _tokens[token];
        uint8 index = previous.index;
        // A token configured again keeps its own tolerance; a new one starts at the default.
        uint16 toleranceBps = index == 0 ? DEFAULT_TOLERANCE_BPS : previous.toleranceBps;
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
            maxTtlHours: global.maxTtlHours,
            toleranceBps: toleranceBps,
            feeBps: global.feeBps,
            paused: global.paused
        });
        emit TokenConfigured(token, feed, maxStaleness, index);
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function disallowToken(address token) external onlyRole(DEFAULT_ADMIN_ROLE) {
        // A disallowed token keeps its index, decimals and tolerance; only its feed goes, until it is set again.
        if (_tokens[token].feed == address(0)) revert TokenNotAllowed(token);
        _tokens[token].feed = address(0);
        emit TokenDisallowed(token);
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function setTolerance(address token, uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bps > MAX_TOLERANCE_BPS) revert ToleranceTooHigh(bps, MAX_TOLERANCE_BPS);
        TokenConfig storage tokenConfig = _tokens[token];
        if (tokenConfig.index == 0) revert TokenNotAllowed(token);
        emit ToleranceUpdated(token, tokenConfig.toleranceBps, bps);
        tokenConfig.toleranceBps = bps;
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function setFee(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bps > MAX_FEE_BPS) revert FeeTooHigh(bps, MAX_FEE_BPS);
        if (bps != 0 && _settings.treasury == address(0)) revert ZeroAddress("treasury");
        emit FeeUpdated(_settings.feeBps, bps);
        _settings.feeBps = bps;
        _copySettingsToTokens();
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function setMaxTtl(uint8 maxTtlHours) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (maxTtlHours == 0 || maxTtlHours > MAX_TTL_CAP_HOURS) revert InvalidMaxTtl(maxTtlHours, MAX_TTL_CAP_HOURS);
        emit MaxTtlUpdated(_settings.maxTtlHours, maxTtlHours);
        _settings.maxTtlHours = maxTtlHours;
        _copySettingsToTokens();
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function setTreasury(address treasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireReceiver(treasury, "treasury");
        _settings.treasury = treasury;
        emit TreasuryUpdated(treasury);
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function rescue(address token, address to, uint256 amount) external nonReentrant onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireReceiver(to, "recipient");
        if (amount == 0) revert ZeroAmount();
        uint256 held = _balanceAt(token, address(this));
        uint256 owed = _ledgers[token].owed;
        uint256 surplus = held > owed ? held - owed : 0;
        if (amount > surplus) revert RescueExceedsSurplus(token, amount, surplus);
        emit Rescued(token, to, amount);
        _send(token, to, amount);
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function pause() external onlyRole(PAUSER_ROLE) {
        _settings.paused = true;
        _copySettingsToTokens();
        emit Paused(msg.sender);
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function unpause() external onlyRole(PAUSER_ROLE) {
        _settings.paused = false;
        _copySettingsToTokens();
        emit Unpaused(msg.sender);
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IOpenPayEscrowAdmin
    function remainingUsd(PaymentIntent calldata intent) external view returns (uint256 remaining) {
        Payment memory payment = _payments[intent.paymentId];
        if (block.timestamp > intent.expiry) return 0;
        if (payment.status == Status.None) return intent.amountUsd;
        if (payment.status != Status.Open) return 0;
        _requireBoundIntent(intent.paymentId, intent);
        // What was received is worth today's price, as the next deposit will count it.
        uint256 worth = _valueNow(_tokenAt[payment.tokenIndex], payment.amount);
        if (worth < intent.amountUsd) remaining = intent.amountUsd - worth;
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function paymentOf(bytes32 paymentId) external view returns (Payment memory) {
        return _payments[paymentId];
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function depositOf(bytes32 paymentId, address token, address payer) external view returns (uint256) {
        Payment memory payment = _payments[paymentId];
        // Deposits in the token that paid a payment belong to the merchant: nothing of them is refundable.
        if (payment.status == Status.None) return 0;
        if (payment.status != Status.Open && payment.status != Status.Expired && token == _tokenAt[payment.tokenIndex]) {
            return 0;
        }
        return _deposits[paymentId][token][payer];
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function refundedOf(bytes32 paymentId) external view returns (uint256) {
        return _refunded[paymentId];
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function balanceOf(address merchant, address token) external view returns (uint256) {
        return _balances[merchant][token];
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function claimableOf(address token, address account) external view returns (uint256) {
        return _claimable[token][account];
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function ledgerOf(address token) external view returns (TokenLedger memory) {
        return _ledgers[token];
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function tokenConfigOf(address token) external view returns (TokenConfig memory) {
        return _tokens[token];
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function tokenAt(uint8 index) external view returns (address) {
        return _tokenAt[index];
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function merchantOf(address merchant) external view returns (Merchant memory) {
        return _merchants[merchant];
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function isSigner(address merchant, address signer) external view returns (bool) {
        return _signerMerchantIds[merchant][signer] != 0;
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function settings() external view returns (Settings memory) {
        return _settings;
    }

    /// @inheritdoc IOpenPayEscrowAdmin
    function quoteUsd(address token, uint256 amount) external view returns (uint256) {
        return _valueNow(token, amount);
    }

    // ---------------------------------------------------------------------------------------------
    // Internal
    // ---------------------------------------------------------------------------------------------

    /// @dev `amount` of a token valued at its fresh price, as a deposit would value it. A token disallowed since
    /// (a partly paid payment's, say) has no feed to ask: that is said, rather than a call to address zero failing.
    function _valueNow(address token, uint256 amount) private view returns (uint256) {
        TokenConfig memory config = _tokens[token];
        if (config.feed == address(0)) revert TokenNotAllowed(token);
        uint256 price = PriceMath.freshPrice(config.feed, config.maxStaleness, config.feedDecimals);
        return PriceMath.usdValue(amount, price, config.decimals, config.feedDecimals);
    }

    /// @dev Copies the global fee, pause flag and time-to-live limit into every token's configuration, where deposits
    /// read them with the rest of the token's settings (one storage read fewer per payment).
    function _copySettingsToTokens() private {
        Settings memory global = _settings;
        uint256 count = _tokenCount;
        for (uint256 i = 1; i <= count; ++i) {
            TokenConfig storage tokenConfig = _tokens[_tokenAt[uint8(i)]];
            tokenConfig.feeBps = global.feeBps;
            tokenConfig.paused = global.paused;
            tokenConfig.maxTtlHours = global.maxTtlHours;
        }
    }
}
