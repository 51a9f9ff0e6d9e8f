// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IOpenPayEscrowCommon} from "../../contracts/interfaces/IOpenPayEscrowCommon.sol";
import {TestToken} from "../../contracts/test/TestToken.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";

/// @title Whoever pays first does not choose the token; the first deposit waits until the expiry is near enough
/// @notice (docs/contracts.md, "token-choice".) A third party that deposits first, in any accepted token and any
/// amount short of the price, neither stops the customer paying in full in another accepted token nor takes that
/// payment: it completes in the customer's token, the merchant is credited exactly the customer's deposit, and the
/// third party's deposit stays refundable to it (never in the token that paid the payment: NotRefundable). A token
/// the intent does not accept is refused with TokenNotAccepted. A deposit names whom it is refunded to (never the
/// escrow). The first deposit reverts ExpiryTooFar, naming the latest expiry accepted, exactly when the expiry is
/// further than the time-to-live limit.
contract TokenChoiceStaysWithThePayerTest is EscrowTestBase {
    address internal constant THIRD_PARTY = address(0xBAD);

    function testFuzz_aThirdPartysFirstDepositNeverChoosesTheToken(
        uint256 amountUsd,
        uint8 griefChoice,
        uint8 payChoice,
        uint256 griefShare
    ) public {
        address griefToken = _token(griefChoice);
        address payToken = _token(payChoice);
        vm.assume(griefToken != payToken);
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(bound(amountUsd, 1e16, 1e24));
        bytes memory signature = sign(SIGNER_KEY, intent);

        // The third party pays 0%–90% of the price first (at least one unit), in another accepted token.
        uint256 griefAmount = _unitsFor(griefToken, intent.amountUsd * bound(griefShare, 0, 9_000) / 10_000);
        if (griefAmount == 0) griefAmount = 1;
        _pay(THIRD_PARTY, intent, signature, griefToken, griefAmount);
        IOpenPayEscrowCommon.Payment memory open = escrow.paymentOf(intent.paymentId);
        assertEq(uint256(open.status), uint256(IOpenPayEscrowCommon.Status.Open), "a short first deposit did not stay open");

        // The customer pays the whole price in its own token: accepted, added up apart, and it pays the payment.
        uint256 payAmount = _unitsFor(payToken, intent.amountUsd) + 1;
        _pay(payer, intent, signature, payToken, payAmount);
        IOpenPayEscrowCommon.Payment memory paid = escrow.paymentOf(intent.paymentId);
        assertEq(uint256(paid.status), uint256(IOpenPayEscrowCommon.Status.Completed), "customer's payment not taken");
        assertEq(paid.tokenIndex, escrow.tokenConfigOf(payToken).index, "paid in the third party's token");
        assertEq(paid.amount, payAmount, "paid amount is not the customer's deposit");
        assertEq(escrow.balanceOf(merchant, payToken), payAmount, "merchant not credited the customer's deposit");
        assertEq(escrow.balanceOf(merchant, griefToken), 0, "merchant credited the third party's deposit");

        // The third party's deposit stays its own: refundable (by anyone's call), and only it.
        assertEq(escrow.depositOf(intent.paymentId, griefToken, THIRD_PARTY), griefAmount, "third party's deposit");
        assertEq(escrow.depositOf(intent.paymentId, payToken, payer), 0, "the paying deposit is refundable");
        address[] memory both = new address[](2);
        (both[0], both[1]) = (THIRD_PARTY, payer);
        vmx().expectRevert(
            abi.encodeWithSelector(
                IOpenPayEscrowCommon.NotRefundable.selector,
                intent.paymentId,
                IOpenPayEscrowCommon.Status.Completed,
                payToken
            )
        );
        escrow.expire(intent, payToken, both);
        uint256 before = _balance(griefToken, THIRD_PARTY);
        escrow.expire(intent, griefToken, both);
        assertEq(_balance(griefToken, THIRD_PARTY) - before, griefAmount, "third party not refunded");
        assertEq(escrow.depositOf(intent.paymentId, griefToken, THIRD_PARTY), 0, "refunded twice");
        assertEq(escrow.ledgerOf(griefToken).owed, 0, "owed in the third party's token after its refund");
        assertEq(escrow.ledgerOf(payToken).owed, payAmount, "owed in the paying token");
    }

    function testFuzz_aTokenTheIntentDoesNotAcceptIsRefused(uint8 acceptedChoice, uint8 offeredChoice, uint256 amount)
        public
    {
        address accepted = _token(acceptedChoice);
        address offered = _token(offeredChoice);
        vm.assume(accepted != offered);
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(100 * USD);
        intent.acceptedTokens = tokenBit(accepted);
        bytes memory signature = sign(SIGNER_KEY, intent);
        amount = bound(amount, 1, 1e24);
        _fund(payer, offered, amount);
        vmx().expectRevert(
            abi.encodeWithSelector(
                IOpenPayEscrowCommon.TokenNotAccepted.selector, intent.paymentId, offered, intent.acceptedTokens
            )
        );
        _payFor(payer, intent, signature, offered, amount, address(0));
        assertEq(uint256(escrow.paymentOf(intent.paymentId).status), uint256(IOpenPayEscrowCommon.Status.None), "recorded");
    }

    function testFuzz_aDepositIsRefundedToItsBeneficiary(uint8 tokenChoice, uint256 beneficiarySeed, uint256 share)
        public
    {
        // A fresh account (the user a router pays for).
        address beneficiary = address(uint160(uint256(keccak256(abi.encode("beneficiary", beneficiarySeed)))));
        address token = _token(tokenChoice);
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(100 * USD);
        bytes memory signature = sign(SIGNER_KEY, intent);
        uint256 amount = _unitsFor(token, intent.amountUsd * bound(share, 1, 90) / 100);

        // Naming the escrow is refused: its refund would be nobody's.
        _fund(payer, token, amount);
        vmx().expectRevert(abi.encodeWithSelector(IOpenPayEscrowCommon.EscrowAsReceiver.selector, "beneficiary"));
        _payFor(payer, intent, signature, token, amount, address(escrow));

        _payFor(payer, intent, signature, token, amount, beneficiary);
        assertEq(escrow.depositOf(intent.paymentId, token, beneficiary), amount, "not recorded for the beneficiary");
        assertEq(escrow.depositOf(intent.paymentId, token, payer), 0, "recorded for the payer");
        vm.warp(intent.expiry + escrow.LATE_COLLECT_WINDOW() + 1);
        address[] memory listed = new address[](1);
        listed[0] = beneficiary;
        uint256 before = _balance(token, beneficiary);
        escrow.expire(intent, token, listed);
        assertEq(_balance(token, beneficiary) - before, amount, "beneficiary not refunded");
    }

    function testFuzz_theFirstDepositWaitsUntilTheExpiryIsNearEnough(uint8 maxTtlHours, uint256 ttl, bool native)
        public
    {
        maxTtlHours = uint8(bound(maxTtlHours, 1, 168));
        vm.prank(admin);
        escrow.setMaxTtl(maxTtlHours);
        assertEq(escrow.settings().maxTtlHours, maxTtlHours, "settings");
        uint256 limit = uint256(maxTtlHours) * 1 hours;
        ttl = bound(ttl, limit - 2, limit + 2);
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(100 * USD);
        intent.expiry = uint64(block.timestamp + ttl);
        bytes memory signature = sign(SIGNER_KEY, intent);
        address token = native ? address(0) : address(usd18);
        uint256 amount = _unitsFor(token, 10 * USD);

        _fund(payer, token, amount);
        if (ttl > limit) {
            vmx().expectRevert(
                abi.encodeWithSelector(
                    IOpenPayEscrowCommon.ExpiryTooFar.selector, intent.paymentId, intent.expiry, block.timestamp + limit
                )
            );
            _payFor(payer, intent, signature, token, amount, address(0));
            // Once the expiry is near enough, the same intent is taken.
            vm.warp(block.timestamp + (ttl - limit));
        }
        _payFor(payer, intent, signature, token, amount, address(0));
        assertEq(uint256(escrow.paymentOf(intent.paymentId).status), uint256(IOpenPayEscrowCommon.Status.Open), "status");
    }

    function testFuzz_theTimeToLiveLimitStaysWithinItsBounds(uint8 maxTtlHours) public {
        vm.prank(admin);
        if (maxTtlHours == 0 || maxTtlHours > 168) {
            vmx().expectRevert(
                abi.encodeWithSelector(IOpenPayEscrowCommon.InvalidMaxTtl.selector, uint256(maxTtlHours), uint256(168))
            );
            escrow.setMaxTtl(maxTtlHours);
            assertEq(escrow.settings().maxTtlHours, 24, "changed by a refused call");
        } else {
            escrow.setMaxTtl(maxTtlHours);
            assertEq(escrow.settings().maxTtlHours, maxTtlHours, "settings");
            assertEq(escrow.tokenConfigOf(address(usd6)).maxTtlHours, maxTtlHours, "a token's copy");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------

    function _token(uint8 choice) private view returns (address) {
        choice = choice % 3;
        return choice == 0 ? address(usd6) : choice == 1 ? address(usd18) : address(0);
    }

    /// @dev Fewest units of `token` worth `usd` at the set-up prices ($1 stablecoins, $600 BNB).
    function _unitsFor(address token, uint256 usd) private view returns (uint256) {
        if (token == address(0)) return (usd + 599) / 600;
        if (token == address(usd6)) return (usd + 1e12 - 1) / 1e12;
        return usd;
    }

    function _fund(address from, address token, uint256 amount) private {
        if (token == address(0)) {
            vm.deal(from, from.balance + amount);
        } else {
            TestToken(token).mint(from, amount);
            vm.prank(from);
            TestToken(token).approve(address(escrow), amount);
        }
    }

    function _pay(
        address from,
        IOpenPayEscrowCommon.PaymentIntent memory intent,
        bytes memory signature,
        address token,
        uint256 amount
    ) private {
        _fund(from, token, amount);
        _payFor(from, intent, signature, token, amount, address(0));
    }

    function _payFor(
        address from,
        IOpenPayEscrowCommon.PaymentIntent memory intent,
        bytes memory signature,
        address token,
        uint256 amount,
        address beneficiary
    ) private {
        vm.prank(from);
        if (token == address(0)) escrow.payNative{value: amount}(intent, signature, beneficiary);
        else escrow.pay(intent, signature, token, amount, beneficiary);
    }

    function _balance(address token, address account) private view returns (uint256) {
        return token == address(0) ? account.balance : TestToken(token).balanceOf(account);
    }
}
