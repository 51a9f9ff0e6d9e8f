// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {TransientSlot} from "@openzeppelin/contracts/utils/TransientSlot.sol";

import {DepositForwarder} from "./DepositForwarder.sol";
import {DepositAddressClone} from "./libraries/DepositAddressClone.sol";
import {EscrowStorage} from "./EscrowStorage.sol";
import {IOpenPayEscrowAdmin} from "./interfaces/IOpenPayEscrowAdmin.sol";
import {IOpenPayEscrowPayments} from "./interfaces/IOpenPayEscrowPayments.sol";
import {OpenPayEscrowAdmin} from "./OpenPayEscrowAdmin.sol";
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
/// @dev The payment half of the escrow. Configuration, roles and views live in `OpenPayEscrowAdmin`, deployed
/// by the constructor and run by delegatecall for every call this contract does not know (`fallback`), on the
/// same storage (`EscrowStorage`); `IOpenPayEscrow` is everything callable at this address. A payment costs one
/// new storage slot when paid in full at once; an underpaid payment also stores its intent's digest and each
/// payer's deposit so that it can be topped up or refunded.
contract OpenPayEscrow is EscrowStorage, IOpenPayEscrowPayments {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using TransientSlot for *;

    /// @inheritdoc IOpenPayEscrowPayments
    uint256 public constant NATIVE_PUSH_GAS = 50_000;

    /// @inheritdoc IOpenPayEscrowPayments
    uint256 public constant STRAY_PUSH_GAS = 100_000;

    /// @inheritdoc IOpenPayEscrowPayments
    address public immutable FORWARDER_IMPLEMENTATION;

    /// @inheritdoc IOpenPayEscrowPayments
    address public immutable ADMINISTRATION;

    /// @dev Transient slot holding the deposit address whose BNB is being swept in.
    bytes32 private constant _SWEPT_FROM = keccak256("OpenPay.sweptFrom");

    /// @notice Deploys the escrow with its administration and deposit-address implementation: no fee, and no
    /// token, merchant or role but the admin (a token gets a 1% tolerance when first configured).
    /// @param admin The default admin (use a multisig or hardware wallet).
    /// @param treasury Receiver of platform fees (may be zero while the fee is zero).
    constructor(address admin, address treasury) {
        FORWARDER_IMPLEMENTATION = address(new DepositForwarder());
        address administration = address(new OpenPayEscrowAdmin());
        ADMINISTRATION = administration;
        Address.functionDelegateCall(administration, abi.encodeCall(IOpenPayEscrowAdmin.initialize, (admin, treasury)));
    }

    /// @notice Runs every call this contract does not know in the administration, on the escrow's storage:
    /// configuration, roles and views (`IOpenPayEscrowAdmin`). Not payable: BNB comes only through `payNative`
    /// and deposit-address sweeps.
    /// @dev Written out because it must end the call with the administration's own return data, which Solidity
    /// cannot express. Memory-safe (it only uses memory past the free memory pointer), so that the IR optimizer
    /// keeps its freedom in the rest of the contract: a block that is not cost every payment about 2,900 gas.
    fallback() external { // solhint-disable-line payable-fallback, no-complex-fallback
        address administration = ADMINISTRATION;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            calldatacopy(buffer, 0, calldatasize())
            let ok := delegatecall(gas(), administration, buffer, calldatasize(), 0, 0)
            returndatacopy(buffer, 0, returndatasize())
            if iszero(ok) { revert(buffer, returndatasize()) }
            return(buffer, returndatasize())
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Paying
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IOpenPayEscrowPayments
    function pay(
        PaymentIntent calldata intent,
        bytes calldata signature,
        address token,
        uint256 amount,
        address beneficiary
    ) external nonReentrant {
        if (token == NATIVE) revert UseNativePayment();
        _deposit(intent, signature, hashIntent(intent), token, amount, _payerOrBeneficiary(beneficiary), intent.expiry);
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        _requireArrived(token, before, amount);
    }

    /// @notice Takes BNB only from the deposit address being swept into the escrow; BNB sent any other way
    /// (even by a refund receiver during a call) could not be matched to a payment or to what the escrow owes.
    receive() external payable {
        if (msg.sender != _SWEPT_FROM.asAddress().tload()) revert UseNativePayment();
    }

    /// @inheritdoc IOpenPayEscrowPayments
    function payNative(PaymentIntent calldata intent, bytes calldata signature, address beneficiary)
        external
        payable
        nonReentrant
    {
        _deposit(intent, signature, hashIntent(intent), NATIVE, msg.value, _payerOrBeneficiary(beneficiary), intent.expiry);
    }

    /// @inheritdoc IOpenPayEscrowPayments
    function collect(PaymentIntent calldata intent, bytes calldata signature, address token)
        external
        nonReentrant
        returns (uint256 amount)
    {
        // Checked again in _deposit; checked first so that nothing unknown is called as a token.
        if (_tokens[token].feed == address(0)) revert TokenNotAllowed(token);
        bytes32 digest = hashIntent(intent);
        address depositAddress = _depositAddress(digest);
        amount = _balanceAt(token, depositAddress);
        if (amount == 0) revert NothingToCollect(intent.paymentId, token, depositAddress);
        uint256 deadline = intent.expiry;
        if (block.timestamp > deadline && _isRoleMember(OPERATOR_ROLE, msg.sender)) deadline += LATE_COLLECT_WINDOW;
        // The deposit address stands in as the payer: a plain transfer does not say who sent it.
        _deposit(intent, signature, digest, token, amount, depositAddress, deadline);
        _sweepIn(_forwarder(depositAddress, digest), token, amount);
    }

    /// @inheritdoc IOpenPayEscrowPayments
    function expire(PaymentIntent calldata intent, address token, address[] calldata payers) external nonReentrant {
        bytes32 paymentId = intent.paymentId;
        Payment memory payment = _payments[paymentId];
        // Deposits collected from the deposit address cannot go back there; without a refund address in the
        // intent the operator sends them back with refundDepositAddress.
        address keptForOperator;
        if (payment.status == Status.Open) {
            bytes32 digest = _requireBoundIntent(paymentId, intent);
            address depositAddress = _depositAddress(digest);
            _requireExpirable(intent, depositAddress);
            if (intent.refundTo == address(0)) keptForOperator = depositAddress;
            _payments[paymentId].status = Status.Expired;
            emit PaymentExpired(paymentId, _tokenAt[payment.tokenIndex], payment.amount, payment.receivedUsd);
        } else {
            bytes32 digest = _requireRefundable(intent, payment, token);
            if (intent.refundTo == address(0)) keptForOperator = _depositAddress(digest);
        }
        for (uint256 i; i < payers.length; ++i) {
            address payer = payers[i];
            uint256 amount = _deposits[paymentId][token][payer];
            if (amount == 0 || payer == keptForOperator) continue;
            delete _deposits[paymentId][token][payer];
            address to = intent.refundTo == address(0) ? payer : intent.refundTo;
            emit DepositRefunded(paymentId, payer, to, token, amount);
            _pushOrCredit(paymentId, token, to, amount);
        }
    }

    /// @inheritdoc IOpenPayEscrowPayments
    function refundDepositAddress(PaymentIntent calldata intent, address token, address to, uint256 amount)
        external
        nonReentrant
    {
        bytes32 paymentId = intent.paymentId;
        bytes32 digest = _requireRefundable(intent, _payments[paymentId], token);
        address receiver = _refundReceiver(intent, to);
        if (amount == 0) revert ZeroAmount();
        address depositAddress = _depositAddress(digest);
        uint256 deposited = _deposits[paymentId][token][depositAddress];
        if (amount > deposited) revert RefundExceedsDeposit(paymentId, amount, deposited);
        _deposits[paymentId][token][depositAddress] = deposited - amount;
        emit DepositRefunded(paymentId, depositAddress, receiver, token, amount);
        _pushOrCredit(paymentId, token, receiver, amount);
    }

    /// @inheritdoc IOpenPayEscrowPayments
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

    /// @inheritdoc IOpenPayEscrowPayments
    function withdraw(address token, uint256 amount) external nonReentrant {
        address payout = _merchants[msg.sender].payout;
        if (payout == address(0)) revert MerchantNotRegistered(msg.sender);
        _debit(msg.sender, token, amount);
        _ledgers[token].owed -= uint128(amount);
        emit Withdrawn(msg.sender, payout, token, amount);
        _send(token, payout, amount);
    }

    /// @inheritdoc IOpenPayEscrowPayments
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

    /// @inheritdoc IOpenPayEscrowPayments
    function setPayout(address payout) external {
        _requireReceiver(payout, "payout");
        Merchant storage merchant = _registeredMerchant(msg.sender);
        merchant.payout = payout;
        emit PayoutUpdated(msg.sender, payout);
    }

    /// @inheritdoc IOpenPayEscrowPayments
    function setSigner(address signer, bool authorised) external {
        if (signer == address(0)) revert ZeroAddress("signer");
        uint32 id = _registeredMerchant(msg.sender).id;
        _signerMerchantIds[msg.sender][signer] = authorised ? id : 0;
        emit SignerUpdated(msg.sender, signer, authorised);
    }

    // ---------------------------------------------------------------------------------------------
    // Claims and fees
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IOpenPayEscrowPayments
    function claim(address token, address to) external nonReentrant {
        _requireReceiver(to, "recipient");
        uint256 amount = _claimable[token][msg.sender];
        if (amount == 0) revert NothingToClaim(token, msg.sender);
        delete _claimable[token][msg.sender];
        _ledgers[token].owed -= uint128(amount);
        emit RefundClaimed(msg.sender, to, token, amount);
        _send(token, to, amount);
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IOpenPayEscrowPayments
    function depositAddressOf(PaymentIntent calldata intent) external view returns (address) {
        return _depositAddress(hashIntent(intent));
    }

    // ---------------------------------------------------------------------------------------------
    // Internal
    // ---------------------------------------------------------------------------------------------

    /// @dev Records a deposit: checks the intent and the price, then completes the payment or keeps it open.
    /// Only effects: the caller moves the funds afterwards. Kept in one function: every payment runs it, and each
    /// internal call with this many values costs stack shuffling the hot path should not pay.
    // solhint-disable-next-line function-max-lines
    function _deposit(
        PaymentIntent calldata intent,
        bytes calldata signature,
        bytes32 digest,
        address token,
        uint256 amount,
        address payer,
        uint256 deadline
    ) private {
        bytes32 paymentId = intent.paymentId;
        TokenConfig memory tokenConfig = _tokens[token];
        if (tokenConfig.paused) revert DepositsPaused();
        if (amount == 0) revert ZeroAmount();
        _toUint104(amount);
        if (tokenConfig.feed == address(0)) revert TokenNotAllowed(token);
        if (!_inIntent(intent, tokenConfig.index)) revert TokenNotAccepted(paymentId, token, intent.acceptedTokens);
        Payment memory payment = _admit(intent, signature, digest, tokenConfig, deadline);
        Status previous = payment.status;
        // Each accepted token adds up apart, so that nobody can choose the token for the customer by paying first:
        // the payment's record holds its first token, the others are kept aside until one of them pays it.
        bool firstToken = previous == Status.None || payment.tokenIndex == tokenConfig.index;
        uint256 held = firstToken ? payment.amount : _otherTokenAmounts[paymentId][token];
        uint256 total = _toUint104(held + amount);

        uint256 price = PriceMath.freshPrice(tokenConfig.feed, tokenConfig.maxStaleness, tokenConfig.feedDecimals);
        uint256 valueUsd = PriceMath.usdValue(amount, price, tokenConfig.decimals, tokenConfig.feedDecimals);
        // The whole amount received in this token is valued again at today's price: a payer who waits after a
        // partial deposit bears the price change, never the merchant (docs/contracts.md, "Valuation").
        uint256 receivedUsd = _toUint104(
            held == 0 ? valueUsd : PriceMath.usdValue(total, price, tokenConfig.decimals, tokenConfig.feedDecimals)
        );
        _ledgers[token].owed += amount.toUint128();

        // Both branches write the payment's record out in full: one shared write before them measured about 130 gas
        // more on every payment (the IR optimizer keeps less of it in registers).
        if (PriceMath.covers(receivedUsd, intent.amountUsd, tokenConfig.toleranceBps)) {
            if (!firstToken) {
                // The first token's deposits (and any other's) stay with their payers: refundable now.
                delete _otherTokenAmounts[paymentId][token];
                _leftoverDigests[paymentId] = digest;
            }
            payment.status = Status.Completed;
            payment.tokenIndex = tokenConfig.index;
            payment.amount = uint104(total);
            payment.receivedUsd = uint104(receivedUsd);
            _payments[paymentId] = payment;
            if (previous == Status.Open) delete _intentDigests[paymentId];
            _settle(intent, payment, payer, token, amount, valueUsd, tokenConfig.feeBps);
        } else {
            if (firstToken) {
                payment.status = Status.Open;
                payment.tokenIndex = tokenConfig.index;
                payment.amount = uint104(total);
                payment.receivedUsd = uint104(receivedUsd);
                _payments[paymentId] = payment;
                if (previous == Status.None) _intentDigests[paymentId] = digest;
            } else {
                _otherTokenAmounts[paymentId][token] = total;
                // Should another token pay it, these deposits are refunded against this digest.
                _leftoverDigests[paymentId] = digest;
            }
            _deposits[paymentId][token][payer] += amount;
            _emitDeposited(intent, payer, token, amount, valueUsd, receivedUsd);
        }
    }

    /// @dev Loads the payment a deposit is for and checks that the deposit may join it.
    function _admit(
        PaymentIntent calldata intent,
        bytes calldata signature,
        bytes32 digest,
        TokenConfig memory tokenConfig,
        uint256 deadline
    ) private view returns (Payment memory payment) {
        bytes32 paymentId = intent.paymentId;
        payment = _payments[paymentId];
        if (payment.status != Status.None && payment.status != Status.Open) {
            revert InvalidPaymentStatus(paymentId, payment.status);
        }
        if (block.timestamp > deadline) revert DepositAfterExpiry(paymentId, intent.expiry, block.timestamp);
        if (payment.status == Status.None) {
            uint256 latest = _latestExpiry(tokenConfig);
            if (intent.expiry > latest) revert ExpiryTooFar(paymentId, intent.expiry, latest);
            payment.merchantId = _authorisedMerchantId(intent, digest, signature);
        } else {
            bytes32 bound = _intentDigests[paymentId];
            if (bound != digest) revert IntentMismatch(paymentId, bound, digest);
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

    /// @dev Whether `token` at the intent's deposit address could still be collected, now or later (never for an
    /// intent naming the escrow as `refundTo`, which no deposit accepts).
    function _collectable(PaymentIntent calldata intent, bytes32 digest, address token) private view returns (bool) {
        // Past the expiry only the operator may still collect, until the late-collect window closes.
        uint256 until = intent.expiry;
        if (!_isRoleMember(OPERATOR_ROLE, msg.sender)) until += LATE_COLLECT_WINDOW;
        if (block.timestamp > until || intent.refundTo == address(this)) return false;
        if (!_accepts(intent, token)) return false;
        Status status = _payments[intent.paymentId].status;
        // A first deposit is refused while the expiry is beyond the time-to-live limit: nothing waits for it.
        if (status == Status.None) {
            return intent.expiry <= _latestExpiry(_tokens[token]);
        }
        return status == Status.Open && _intentDigests[intent.paymentId] == digest;
    }

    /// @dev The latest expiry a payment's first deposit accepts now: the escrow's time-to-live limit away.
    function _latestExpiry(TokenConfig memory tokenConfig) private view returns (uint256) {
        return block.timestamp + uint256(tokenConfig.maxTtlHours) * 1 hours;
    }

    /// @dev Whether the intent accepts `token` and the escrow takes deposits in it.
    function _accepts(PaymentIntent calldata intent, address token) private view returns (bool) {
        TokenConfig memory tokenConfig = _tokens[token];
        return tokenConfig.feed != address(0) && _inIntent(intent, tokenConfig.index);
    }

    /// @dev Whether the intent's signed mask holds the token at `index`.
    function _inIntent(PaymentIntent calldata intent, uint8 index) private pure returns (bool) {
        return (intent.acceptedTokens >> index) & 1 == 1;
    }

    /// @dev Reverts unless an open payment may be expired now by the caller: past its expiry, and, until the
    /// late-collect window closes, by anyone but the operator only while nothing waiting at its deposit address could
    /// complete it. The window keeps a transfer that arrived in time from being expired before the operator collects
    /// it; what could not complete the payment (dust) goes back from the deposit address either way, and holds
    /// nothing back. Each accepted token is judged as a collect of it would be: what waits, together with what the
    /// payment already received in that token, at the fresh price, within the token's tolerance. A price that cannot
    /// be read reverts with the feed's error, as that collect would: it holds the expiry back for all but the operator.
    function _requireExpirable(PaymentIntent calldata intent, address depositAddress) private view {
        if (block.timestamp <= intent.expiry) revert PaymentNotExpired(intent.paymentId, intent.expiry, block.timestamp);
        uint256 windowEnd = intent.expiry + LATE_COLLECT_WINDOW;
        if (block.timestamp > windowEnd || _isRoleMember(OPERATOR_ROLE, msg.sender)) return;
        uint256 count = _tokenCount;
        for (uint256 index = 1; index <= count; ++index) {
            address token = _tokenAt[uint8(index)];
            if (!_accepts(intent, token)) continue;
            uint256 waiting = _balanceAt(token, depositAddress);
            if (waiting == 0) continue;
            Payment storage payment = _payments[intent.paymentId];
            uint256 held = payment.tokenIndex == index ? payment.amount : _otherTokenAmounts[intent.paymentId][token];
            // Valued by the administration (quoteUsd: PriceMath's fresh price and valuation, as a deposit's) and
            // compared as PriceMath.covers does, written out: a second caller of PriceMath in the payment half made the
            // IR optimizer inline it less in _deposit, 40 to 110 gas more on every payment, for this rare path.
            uint256 receivedUsd = IOpenPayEscrowAdmin(address(this)).quoteUsd(token, held + waiting);
            if (receivedUsd * PriceMath.BPS >= intent.amountUsd * (PriceMath.BPS - _tokens[token].toleranceBps)) {
                revert LateCollectPending(intent.paymentId, depositAddress, token, waiting, receivedUsd, windowEnd);
            }
        }
    }

    /// @dev Reverts unless deposits in `token` of the payment may be refunded (it expired, or it was paid in another
    /// token) and `intent` is the payment's; returns the intent's digest.
    function _requireRefundable(PaymentIntent calldata intent, Payment memory payment, address token)
        private
        view
        returns (bytes32 digest)
    {
        bytes32 paymentId = intent.paymentId;
        if (payment.status == Status.Expired) return _requireBoundIntent(paymentId, intent);
        bytes32 bound = _leftoverDigests[paymentId];
        if (payment.status < Status.Completed || bound == 0 || token == _tokenAt[payment.tokenIndex]) {
            revert NotRefundable(paymentId, payment.status, token);
        }
        digest = hashIntent(intent);
        if (bound != digest) revert IntentMismatch(paymentId, bound, digest);
    }

    /// @dev Where a deposit-address refund goes: the intent's refund address, else the operator's choice. An intent
    /// naming the escrow could never be paid, and what reached its deposit address goes where the operator says.
    function _refundReceiver(PaymentIntent calldata intent, address to) private view returns (address) {
        if (intent.refundTo != address(0) && intent.refundTo != address(this)) return intent.refundTo;
        _requireRole(OPERATOR_ROLE);
        _requireReceiver(to, "recipient");
        return to;
    }

    /// @dev Who a direct deposit is recorded for: the beneficiary the caller named, else the caller.
    function _payerOrBeneficiary(address beneficiary) private view returns (address) {
        if (beneficiary == address(0)) return msg.sender;
        if (beneficiary == address(this)) revert EscrowAsReceiver("beneficiary");
        return beneficiary;
    }

    /// @dev The deposit address of the intent with this digest.
    function _depositAddress(bytes32 digest) private view returns (address) {
        return DepositAddressClone.predictDeterministicAddress(FORWARDER_IMPLEMENTATION, digest);
    }

    /// @dev The forwarder at a deposit address, deployed first if nothing was collected from it yet.
    function _forwarder(address depositAddress, bytes32 digest) private returns (DepositForwarder) {
        if (depositAddress.code.length == 0) DepositAddressClone.cloneDeterministic(FORWARDER_IMPLEMENTATION, digest);
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

    /// @dev Narrows to the width of stored amounts with an error that names the amount.
    function _toUint104(uint256 amount) private pure returns (uint256) {
        if (amount > type(uint104).max) revert AmountTooLarge(amount, type(uint104).max);
        return amount;
    }
}
