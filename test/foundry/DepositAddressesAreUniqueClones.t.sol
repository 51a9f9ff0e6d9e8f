// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {DepositForwarder} from "../../contracts/DepositForwarder.sol";
import {IOpenPayEscrow} from "../../contracts/interfaces/IOpenPayEscrow.sol";
import {IOpenPayEscrowCommon} from "../../contracts/interfaces/IOpenPayEscrowCommon.sol";
import {TestToken} from "../../contracts/test/TestToken.sol";
import {EscrowTestBase} from "./utils/EscrowTestBase.sol";

/// @title Deposit addresses are unique per intent, are where collect deploys the clone, and only the escrow sweeps
/// @notice depositAddressOf(intent) is the CREATE2 address (deployer: the escrow, salt: the intent's digest) of an
/// DepositAddressClone proxy of FORWARDER_IMPLEMENTATION, computed here independently; intents that differ in any one field
/// (the accepted tokens included), or in several, have different deposit addresses; the first collect deploys exactly that clone at exactly that
/// address; and sweep on a clone or on the implementation reverts NotEscrow for every caller but the escrow.
contract DepositAddressesAreUniqueClonesTest is EscrowTestBase {
    address internal constant OTHER_MERCHANT = address(0x0BB0);

    // ---------------------------------------------------------------------------------------------
    // Uniqueness
    // ---------------------------------------------------------------------------------------------

    function testFuzz_changingAnyFieldChangesTheDepositAddress(
        IOpenPayEscrowCommon.PaymentIntent memory intent,
        uint256 field,
        uint256 newValue
    ) public {
        IOpenPayEscrowCommon.PaymentIntent memory other = _copy(intent);
        field = field % 6;
        if (field == 0) other.paymentId = bytes32(newValue);
        else if (field == 1) other.merchant = address(uint160(newValue));
        else if (field == 2) other.amountUsd = newValue;
        else if (field == 3) other.expiry = uint64(newValue);
        else if (field == 4) other.refundTo = address(uint160(newValue));
        else other.acceptedTokens = newValue;
        vmx().assume(keccak256(abi.encode(other)) != keccak256(abi.encode(intent)));

        address a = escrow.depositAddressOf(intent);
        assertEq(a, _predicted(intent), "depositAddressOf != CREATE2 address of the clone");
        assertEq(escrow.depositAddressOf(_copy(intent)), a, "same intent, another address");
        assertTrue(escrow.depositAddressOf(other) != a, "intents differing in one field share a deposit address");
        assertTrue(a != escrow.FORWARDER_IMPLEMENTATION() && a != address(escrow), "deposit address is a contract");
    }

    /// @dev Six intents drawn from small sets of values per field, so that many pairs share most fields: every
    /// pair of distinct intents has distinct deposit addresses, every pair of equal intents the same one.
    function testFuzz_distinctIntentsHaveDistinctDepositAddresses(uint8[6] memory serials, uint8[6] memory others)
        public
    {
        IOpenPayEscrowCommon.PaymentIntent[6] memory intents;
        address[6] memory addresses;
        for (uint256 i; i < 6; ++i) {
            uint8 o = others[i];
            address m = o % 2 == 0 ? merchant : OTHER_MERCHANT;
            intents[i] = IOpenPayEscrowCommon.PaymentIntent({
                paymentId: paymentIdOf(m, serials[i] % 3),
                merchant: m,
                amountUsd: (1 + (o >> 1) % 2) * 100 * USD,
                expiry: uint64(block.timestamp + 1 hours * ((o >> 2) % 2)),
                refundTo: (o >> 3) % 2 == 0 ? address(0) : payer,
                // Two token sets that share a token: paying in it must not make them one deposit address.
                acceptedTokens: (o >> 4) % 2 == 0 ? tokenBit(address(usd6)) : tokenBit(address(usd6)) | tokenBit(address(0))
            });
            addresses[i] = escrow.depositAddressOf(intents[i]);
            assertEq(addresses[i], _predicted(intents[i]), "depositAddressOf != CREATE2 address of the clone");
        }
        for (uint256 i; i < 6; ++i) {
            for (uint256 j = i + 1; j < 6; ++j) {
                bool same = keccak256(abi.encode(intents[i])) == keccak256(abi.encode(intents[j]));
                assertEq(addresses[i] == addresses[j], same, "deposit address not one-to-one with the intent");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Collect deploys the clone there
    // ---------------------------------------------------------------------------------------------

    function testFuzz_collectDeploysTheCloneAtTheDepositAddress(
        uint256 amountUsd,
        uint8 tokenChoice,
        uint256 share,
        bool withRefundTo
    ) public {
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(bound(amountUsd, 1e16, 1e24));
        if (withRefundTo) intent.refundTo = payer;
        address token = _token(tokenChoice);
        address depositAddress = escrow.depositAddressOf(intent);
        assertEq(depositAddress, _predicted(intent), "depositAddressOf != CREATE2 address of the clone");
        assertEq(depositAddress.code.length, 0, "deposit address has code before the first collect");

        // 1%–150% of the price, in token units at $1 (stablecoins) or $600 (BNB).
        uint256 usd = intent.amountUsd * bound(share, 1, 150) / 100;
        uint256 amount = token == address(0) ? usd / 600 : token == address(usd6) ? usd / 1e12 : usd;
        if (amount == 0) amount = 1;
        _send(token, depositAddress, amount);
        uint256 escrowBefore = _balance(token, address(escrow));

        vm.prank(payer);
        assertEq(escrow.collect(intent, sign(SIGNER_KEY, intent), token), amount, "collected another amount");

        assertEq0(depositAddress.code, _cloneCode(), "collect did not deploy the forwarder's clone there");
        assertEq(DepositForwarder(payable(depositAddress)).ESCROW(), address(escrow), "clone answers for another escrow");
        assertEq(_balance(token, depositAddress), 0, "funds left at the deposit address");
        assertEq(_balance(token, address(escrow)) - escrowBefore, amount, "funds did not reach the escrow");
        IOpenPayEscrowCommon.Payment memory stored = escrow.paymentOf(intent.paymentId);
        assertEq(stored.amount, amount, "payment amount != collected");
        if (stored.status == IOpenPayEscrowCommon.Status.Open) {
            assertEq(escrow.depositOf(intent.paymentId, token, depositAddress), amount, "deposit address is not the payer");
        } else {
            assertEq(uint256(stored.status), uint256(IOpenPayEscrowCommon.Status.Completed), "neither open nor completed");
        }

        // The clone stays where it is: a second transfer there is collected (or returned) from the same address.
        assertEq(escrow.depositAddressOf(intent), depositAddress, "deposit address moved");
    }

    // ---------------------------------------------------------------------------------------------
    // Only the escrow sweeps
    // ---------------------------------------------------------------------------------------------

    function testFuzz_onlyTheEscrowCanSweep(
        address caller,
        uint8 tokenChoice,
        address to,
        uint256 amount,
        bool onImplementation
    ) public {
        vmx().assume(caller != address(escrow) && caller != address(vm));
        address token = _token(tokenChoice);
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(100 * USD);
        address target = escrow.FORWARDER_IMPLEMENTATION();
        if (!onImplementation) {
            // Deploy the clone with a first, partial collect; then fund it again so that a sweep has something.
            target = escrow.depositAddressOf(intent);
            _send(token, target, 1);
            escrow.collect(intent, sign(SIGNER_KEY, intent), token);
            assertEq0(target.code, _cloneCode(), "no clone at the deposit address");
        }
        uint256 held = bound(amount, 1, 1e24);
        if (onImplementation && token == address(0)) {
            // The implementation has no receive: BNB sent to it by mistake is refused rather than stuck there.
            vm.deal(payer, held);
            vm.prank(payer);
            (bool ok,) = target.call{value: held}("");
            assertFalse(ok, "the implementation took BNB");
            vm.deal(target, held);
        } else {
            _send(token, target, held);
        }
        uint256 escrowBefore = _balance(token, address(escrow));

        vmx().expectRevert(abi.encodeWithSelector(DepositForwarder.NotEscrow.selector, caller));
        vm.prank(caller);
        DepositForwarder(payable(target)).sweep(token, to, amount);

        assertEq(_balance(token, target), held, "a refused sweep moved funds");
        assertEq(_balance(token, address(escrow)), escrowBefore, "a refused sweep moved escrow funds");
    }

    function testFuzz_theEscrowItselfCanSweep(uint8 tokenChoice, uint256 amount) public {
        // The positive control of the test above: the same call made by the escrow moves the funds.
        address token = _token(tokenChoice);
        IOpenPayEscrowCommon.PaymentIntent memory intent = newIntent(100 * USD);
        address target = escrow.depositAddressOf(intent);
        _send(token, target, 1);
        escrow.collect(intent, sign(SIGNER_KEY, intent), token);
        amount = bound(amount, 1, 1e24);
        _send(token, target, amount);
        address to = address(0xD00D);
        uint256 before = _balance(token, to);

        vm.prank(address(escrow));
        DepositForwarder(payable(target)).sweep(token, to, amount);
        assertEq(_balance(token, to) - before, amount, "the escrow's sweep did not move the funds");
        assertEq(_balance(token, target), 0, "funds left after the escrow's sweep");
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------

    function _token(uint8 choice) private view returns (address) {
        choice = choice % 3;
        return choice == 0 ? address(usd6) : choice == 1 ? address(usd18) : address(0);
    }

    function _send(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            vm.deal(payer, amount);
            vm.prank(payer);
            (bool ok,) = to.call{value: amount}("");
            assertTrue(ok, "BNB transfer to the deposit address failed");
        } else {
            TestToken(token).mint(payer, amount);
            vm.prank(payer);
            TestToken(token).transfer(to, amount);
        }
    }

    function _balance(address token, address account) private view returns (uint256) {
        return token == address(0) ? account.balance : TestToken(token).balanceOf(account);
    }

    function _copy(IOpenPayEscrowCommon.PaymentIntent memory intent)
        private
        pure
        returns (IOpenPayEscrowCommon.PaymentIntent memory)
    {
        return IOpenPayEscrowCommon.PaymentIntent({
            paymentId: intent.paymentId,
            merchant: intent.merchant,
            amountUsd: intent.amountUsd,
            expiry: intent.expiry,
            refundTo: intent.refundTo,
            acceptedTokens: intent.acceptedTokens
        });
    }

    /// @dev Runtime code of the deposit-address proxy of the forwarder implementation (DepositAddressClone).
    function _cloneCode() private view returns (bytes memory) {
        return abi.encodePacked(
            hex"3d3d3615602f573d3d363d3d37363d73", escrow.FORWARDER_IMPLEMENTATION(), hex"5af43d3d93803e602f57fd5bf3"
        );
    }

    /// @dev CREATE2 address (deployer: the escrow; salt: the intent's EIP-712 digest) of that clone, computed from
    /// the clone's init code rather than through DepositAddressClone.
    function _predicted(IOpenPayEscrowCommon.PaymentIntent memory intent) private view returns (address) {
        bytes32 initCodeHash = keccak256(abi.encodePacked(hex"3d603180600a3d3981f3", _cloneCode()));
        bytes32 salt = escrow.hashIntent(intent);
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(escrow), salt, initCodeHash)))));
    }
}
