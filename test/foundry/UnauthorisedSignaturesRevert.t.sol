// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IOpenPayEscrow} from "../../contracts/interfaces/IOpenPayEscrow.sol";
import {IOpenPayEscrowCommon} from "../../contracts/interfaces/IOpenPayEscrowCommon.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";

/// @title Only a signer the merchant authorised can open a payment
/// @notice Intents signed by any other key, by another merchant's signer, by a revoked signer, intents altered
/// after signing (in any field, the accepted tokens included), and arbitrary signature bytes all revert, in ERC-20 and BNB, and leave no trace.
contract UnauthorisedSignaturesRevertTest is EscrowTestBase {
    uint256 internal constant OTHER_MERCHANT_KEY = 0xB0B;
    address internal otherMerchant = address(0x0BB0);

    function setUp() public override {
        super.setUp();
        vm.prank(admin);
        escrow.registerMerchant(otherMerchant, address(0x0BB1), vm.addr(OTHER_MERCHANT_KEY));
    }

    function testFuzz_anyOtherKeyIsRefused(uint256 key, uint256 amountUsd, bool native) public {
        key = bound(key, 1, SECP256K1_N - 1);
        vm.assume(key != SIGNER_KEY);
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(bound(amountUsd, 1, type(uint104).max));
        _expectRefused(intent, sign(key, intent), native, _unauthorised(vm.addr(key)));
    }

    function testFuzz_anotherMerchantsSignerIsRefused(uint256 amountUsd, bool native) public {
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(bound(amountUsd, 1, type(uint104).max));
        _expectRefused(intent, sign(OTHER_MERCHANT_KEY, intent), native, _unauthorised(vm.addr(OTHER_MERCHANT_KEY)));
    }

    function testFuzz_aRevokedSignerIsRefused(uint256 amountUsd, bool byMerchant, bool native) public {
        if (byMerchant) {
            vm.prank(merchant);
            escrow.setSigner(signer, false);
        } else {
            vm.prank(admin);
            escrow.revokeSigner(merchant, signer);
        }
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(bound(amountUsd, 1, type(uint104).max));
        _expectRefused(intent, sign(SIGNER_KEY, intent), native, _unauthorised(signer));
    }

    function testFuzz_anIntentAlteredAfterSigningIsRefused(uint256 field, uint256 newValue, bool native) public {
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(100 * USD);
        bytes memory signature = sign(SIGNER_KEY, intent);
        field = field % 6;
        if (field == 0) intent.paymentId = keccak256(abi.encode(newValue));
        else if (field == 1) intent.merchant = otherMerchant; // signed for `merchant`, claimed for another
        else if (field == 2) intent.amountUsd = bound(newValue, 1, intent.amountUsd - 1); // a cheaper price
        // A later expiry, still within the time-to-live limit (beyond it ExpiryTooFar would refuse it first).
        else if (field == 3) intent.expiry = uint64(bound(newValue, intent.expiry + 1, block.timestamp + 24 hours));
        else if (field == 4) intent.refundTo = address(uint160(bound(newValue, 1, type(uint160).max)));
        // Other tokens accepted (still accepting the one paid in, so that the deposit reaches the signature check).
        else {
            uint256 altered = newValue | tokenBit(native ? address(0) : address(usd18));
            intent.acceptedTokens = altered == intent.acceptedTokens ? altered | (1 << 255) : altered;
        }
        // Recovery yields some other address (refused as unauthorised) or none (refused as invalid).
        _expectRefused(intent, signature, native, "");
    }

    function testFuzz_arbitrarySignatureBytesAreRefused(bytes memory signature, bool native) public {
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(100 * USD);
        _expectRefused(intent, signature, native, "");
    }

    function testFuzz_aHighSSignatureOfTheRealSignerIsRefused(uint256 amountUsd, bool native) public {
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(bound(amountUsd, 1, type(uint104).max));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SIGNER_KEY, escrow.hashIntent(intent));
        // The same signature's malleable twin: s' = n − s, v flipped. ecrecover accepts it; the escrow must not.
        bytes memory twin = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        _expectRefused(intent, twin, native, abi.encodeWithSelector(IOpenPayEscrowCommon.InvalidSignature.selector, intent.paymentId));
    }

    function _unauthorised(address who) internal view returns (bytes memory) {
        return abi.encodeWithSelector(IOpenPayEscrowCommon.UnauthorisedSigner.selector, merchant, who);
    }

    /// @dev Pays 1 USD worth with `signature` and expects `reason` (any revert if empty); then checks nothing
    /// was recorded and no funds moved.
    function _expectRefused(
        IOpenPayEscrowCommon.PaymentIntent memory intent,
        bytes memory signature,
        bool native,
        bytes memory reason
    ) internal {
        address token = native ? address(0) : address(usd18);
        uint256 amount = native ? uint256(1e18) / 600 : 1e18;
        if (native) vm.deal(payer, amount);
        else {
            usd18.mint(payer, amount);
            vm.prank(payer);
            usd18.approve(address(escrow), amount);
        }

        if (reason.length == 0) vm.expectRevert();
        else vmx().expectRevert(reason);
        vm.prank(payer);
        if (native) escrow.payNative{value: amount}(intent, signature, address(0));
        else escrow.pay(intent, signature, token, amount, address(0));

        assertEq(uint256(escrow.paymentOf(intent.paymentId).status), uint256(IOpenPayEscrowCommon.Status.None), "recorded");
        assertEq(escrow.ledgerOf(token).owed, 0, "owed");
        assertEq(native ? payer.balance : usd18.balanceOf(payer), amount, "payer's funds moved");
    }
}
