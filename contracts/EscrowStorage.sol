// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IOpenPayEscrowCommon} from "./interfaces/IOpenPayEscrowCommon.sol";

// The whole escrow's storage lives here by design, so that both code contracts share one layout.
// solhint-disable max-states-count
/// @title EscrowStorage
/// @author Open Pay
/// @notice The storage of the escrow and what both of its code contracts need of it: `OpenPayEscrow` (payments)
/// and `OpenPayEscrowAdmin` (configuration, roles, views), which runs by delegatecall on the escrow's storage.
/// @dev Both inherit this contract first and declare no storage of their own, so their layouts are this one by
/// construction. Roles live where OpenZeppelin's AccessControlUpgradeable keeps them (an ERC-7201 namespace):
/// the administration writes them with OpenZeppelin's code, the payment half only reads them (`_isRoleMember`).
abstract contract EscrowStorage is IOpenPayEscrowCommon, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IOpenPayEscrowCommon
    address public constant NATIVE = address(0);

    /// @inheritdoc IOpenPayEscrowCommon
    bytes32 public constant SIGNER_MANAGER_ROLE = keccak256("SIGNER_MANAGER_ROLE");

    /// @inheritdoc IOpenPayEscrowCommon
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @inheritdoc IOpenPayEscrowCommon
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @inheritdoc IOpenPayEscrowCommon
    bytes32 public constant PAYMENT_INTENT_TYPEHASH = keccak256(
        "PaymentIntent(bytes32 paymentId,address merchant,uint256 amountUsd,uint64 expiry,address refundTo,"
        "uint256 acceptedTokens)"
    );

    /// @inheritdoc IOpenPayEscrowCommon
    uint256 public constant LATE_COLLECT_WINDOW = 1 hours;

    /// @dev ERC-7201 location of AccessControlUpgradeable's storage ("openzeppelin.storage.AccessControl").
    bytes32 private constant _ACCESS_CONTROL_STORAGE =
        0x02dd7bc7dec4dceedda775e58dd541e08a116c6c53815c0bd028192f7b626800;

    Settings internal _settings;
    uint8 internal _tokenCount;
    uint32 internal _merchantCount;

    mapping(bytes32 paymentId => Payment) internal _payments;
    /// @dev Digest of the intent an open or expired payment was opened with: later calls must repeat it.
    mapping(bytes32 paymentId => bytes32 digest) internal _intentDigests;
    /// @dev Digest of the intent of a paid payment that holds deposits in tokens other than the one that paid it, so
    /// that they can be refunded (written only when such a deposit is made, so a payment in one token never pays
    /// for it).
    mapping(bytes32 paymentId => bytes32 digest) internal _leftoverDigests;
    /// @dev Token units an open payment received in each accepted token other than its first deposit's (that one
    /// is in the payment's record).
    mapping(bytes32 paymentId => mapping(address token => uint256 amount)) internal _otherTokenAmounts;
    /// @dev What each payer (or the beneficiary it named) deposited in each token, until refunded.
    mapping(bytes32 paymentId => mapping(address token => mapping(address payer => uint256 amount))) internal
        _deposits;
    mapping(bytes32 paymentId => uint256 amount) internal _refunded;

    mapping(address merchant => Merchant) internal _merchants;
    /// @dev Maps to the merchant's id rather than a flag, so a payment learns both with one read.
    mapping(address merchant => mapping(address signer => uint32 merchantId)) internal _signerMerchantIds;
    mapping(address merchant => mapping(address token => uint256 amount)) internal _balances;
    mapping(address token => mapping(address account => uint256 amount)) internal _claimable;

    mapping(address token => TokenConfig) internal _tokens;
    mapping(uint8 index => address token) internal _tokenAt;
    mapping(address token => TokenLedger) internal _ledgers;

    constructor() EIP712("OpenPayEscrow", "1") {}

    /// @inheritdoc IOpenPayEscrowCommon
    function hashIntent(PaymentIntent calldata intent) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(PAYMENT_INTENT_TYPEHASH, intent)));
    }

    /// @dev Whether `account` holds `role`: AccessControlUpgradeable's `_roles[role].hasRole[account]`, read
    /// directly so that the payment half carries none of AccessControl's code.
    function _isRoleMember(bytes32 role, address account) internal view returns (bool member) {
        bytes32 roleData = keccak256(abi.encode(role, _ACCESS_CONTROL_STORAGE));
        bytes32 slot = keccak256(abi.encode(account, roleData));
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            member := sload(slot)
        }
    }

    /// @dev Reverts as AccessControl does unless the caller holds `role`.
    function _requireRole(bytes32 role) internal view {
        if (!_isRoleMember(role, msg.sender)) revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, role);
    }

    /// @dev Reverts unless `intent` is the intent the payment was opened with; returns its digest.
    function _requireBoundIntent(bytes32 paymentId, PaymentIntent calldata intent)
        internal
        view
        returns (bytes32 digest)
    {
        digest = hashIntent(intent);
        bytes32 bound = _intentDigests[paymentId];
        if (bound != digest) revert IntentMismatch(paymentId, bound, digest);
    }

    /// @dev Reverts unless `to` may receive funds: not zero, and not the escrow, where they would stop being owed.
    function _requireReceiver(address to, string memory what) internal view {
        if (to == address(0)) revert ZeroAddress(what);
        if (to == address(this)) revert EscrowAsReceiver(what);
    }

    /// @dev What `account` holds of `token` (zero address for BNB).
    function _balanceAt(address token, address account) internal view returns (uint256) {
        return token == NATIVE ? account.balance : IERC20(token).balanceOf(account);
    }

    /// @dev Sends to an address the caller chose, reverting on failure.
    function _send(address token, address to, uint256 amount) internal {
        if (token == NATIVE) {
            if (!_trySendNative(to, amount, gasleft())) revert NativeTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    /// @dev A plain call that copies no return data, so a hostile receiver cannot make the caller pay for it.
    function _trySendNative(address to, uint256 amount, uint256 gasLimit) internal returns (bool sent) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sent := call(gasLimit, to, amount, 0, 0, 0, 0)
        }
    }
}
