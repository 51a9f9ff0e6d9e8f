// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";

import {OpenPayEscrow} from "../../../contracts/OpenPayEscrow.sol";
import {IOpenPayEscrow} from "../../../contracts/interfaces/IOpenPayEscrow.sol";
import {IOpenPayEscrowCommon} from "../../../contracts/interfaces/IOpenPayEscrowCommon.sol";
import {EscrowHandler} from "./EscrowHandler.sol";

/// @title Escrow solvency invariants
/// @notice After any sequence of payments (full, partial, over; two ERC-20s, one blacklisting, and BNB; several
/// payers including a contract that refuses BNB), time warps, price moves, expiries with refunds, claims, merchant
/// withdrawals and refunds, fee changes, fee withdrawals, donations and rescues, the escrow owes exactly what the
/// ghost accounts say, holds at least that, and never pays a payment out beyond what was deposited into it.
/// Payments are also paid through their deposit addresses: plain transfers of tokens and BNB (what is due, part,
/// more, another token, a token never accepted, dust, after completion or expiry), collect (top-ups with an empty
/// signature; late collects by the operator within the window after the expiry, refused to anyone else), expiries
/// (refused to anyone but the operator while a late collect is pending), the operator's refundDepositAddress, and
/// returnStray (claimable when the receiver refuses it). The deposit addresses hold exactly what was sent there and
/// neither collected nor returned, and nothing else ever leaves them.
contract EscrowSolvencyInvariantTest is Test {
    EscrowHandler internal handler;
    IOpenPayEscrow internal escrow;

    function setUp() public {
        vm.warp(1_750_000_000);
        handler = new EscrowHandler();
        escrow = handler.escrow();
    }

    /// @notice Read by forge: only the handler's actions are called.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_handlerSawOnlyExpectedBehaviour() public {
        assertEq(handler.failures(), 0, handler.failure());
    }

    function invariant_escrowHoldsAtLeastWhatItOwes() public {
        for (uint256 i; i < handler.tokenCount(); ++i) {
            address token = handler.tokens(i);
            uint256 held = handler.held(token);
            uint256 owed = escrow.ledgerOf(token).owed;
            assertGe(held, owed, "held < owed");
            // Nothing leaves or arrives unaccounted: the only surplus is what was donated and not rescued.
            assertEq(held, owed + handler.ghost(token).donated, "held != owed + donations");
        }
    }

    function invariant_owedIsBalancesPlusOpenDepositsPlusClaimablePlusFees() public {
        for (uint256 i; i < handler.tokenCount(); ++i) {
            address token = handler.tokens(i);
            IOpenPayEscrowCommon.TokenLedger memory ledger = escrow.ledgerOf(token);
            assertEq(ledger.owed, handler.ghostOwed(token), "owed != ghost balances + open + claimable + fees");
            assertEq(ledger.fees, handler.ghost(token).fees, "fees != ghost fees");

            uint256 claimable;
            for (uint256 a; a < handler.actorCount(); ++a) {
                address actor = handler.actors(a);
                assertEq(escrow.claimableOf(token, actor), handler.ghostClaimable(token, actor), "claimable");
                claimable += escrow.claimableOf(token, actor);
            }
            uint256 balances;
            for (uint256 m; m < handler.merchantCount(); ++m) {
                address merchant = handler.merchants(m);
                assertEq(escrow.balanceOf(merchant, token), handler.ghostBalance(merchant, token), "balance");
                balances += escrow.balanceOf(merchant, token);
            }
            uint256 open = _openDepositsOnChain(token);
            assertEq(open, handler.ghost(token).openDeposits, "open deposits");
            assertEq(ledger.owed, balances + open + claimable + ledger.fees, "owed != on-chain parts");
        }
    }

    function invariant_feesNeverExceedOwed() public {
        for (uint256 i; i < handler.tokenCount(); ++i) {
            IOpenPayEscrowCommon.TokenLedger memory ledger = escrow.ledgerOf(handler.tokens(i));
            assertLe(ledger.fees, ledger.owed, "fees > owed");
        }
    }

    function invariant_noPaymentPaysOutMoreThanWasDeposited() public {
        for (uint256 i; i < handler.paymentCount(); ++i) {
            EscrowHandler.Pay memory p = handler.payment(i);
            bytes32 id = p.intent.paymentId;
            IOpenPayEscrowCommon.Payment memory stored = escrow.paymentOf(id);
            assertLe(p.paidOutObserved, p.depositedObserved, "paid out > deposited");
            assertEq(stored.amount, p.depositedObserved, "recorded amount != tokens that arrived");
            assertLe(escrow.refundedOf(id), stored.amount, "merchant refunds > amount");
            // Deposit-address refunds never exceed what was collected from it, which never exceeds what was sent
            // there; strays returned never exceed what was sent there either.
            EscrowHandler.DepositAddressLedger memory da = handler.depositAddressLedger(i);
            assertLe(da.refunded, da.collected[da.tokenIndex], "deposit-address refunds > collected");
            for (uint256 t; t < da.sent.length; ++t) {
                assertLe(da.collected[t] + da.returned[t], da.sent[t], "collected + returned > sent to the address");
            }
            if (stored.status == IOpenPayEscrowCommon.Status.Open || stored.status == IOpenPayEscrowCommon.Status.Expired) {
                // Conservation: what is still refundable plus what went out is exactly what came in.
                uint256 left;
                for (uint256 k; k < p.payers.length; ++k) left += escrow.depositOf(id, p.payers[k]);
                assertEq(left + p.paidOutObserved, p.depositedObserved, "open/expired deposits not conserved");
            }
        }
    }

    /// @notice Token by token (the three accepted and one never accepted): all deposit addresses together hold
    /// exactly what waits there uncollected by the ghost count, the escrow holds at least what it owes, and so
    /// both together cover everything owed plus everything uncollected.
    function invariant_escrowAndDepositAddressesCoverOwedAndUncollected() public {
        EscrowHandler.DepositAddressLedger[] memory ledgers = _depositAddressLedgers();
        for (uint256 t; t < handler.daTokenCount(); ++t) {
            address token = handler.daTokens(t);
            uint256 atAddresses;
            for (uint256 i; i < ledgers.length; ++i) atAddresses += handler.balanceAt(token, ledgers[i].depositAddress);
            uint256 uncollected = handler.ghostUncollected(token);
            assertEq(atAddresses, uncollected, "deposit addresses hold != ghost uncollected");
            uint256 held = handler.balanceAt(token, address(escrow));
            uint256 owed = escrow.ledgerOf(token).owed;
            assertGe(held, owed, "escrow holds < owed");
            assertGe(held + atAddresses, owed + uncollected, "escrow + deposit addresses < owed + uncollected");
        }
    }

    /// @notice Per payment and token, what was sent to the deposit address is exactly what collect took plus what
    /// returnStray returned plus what is still there: nothing else ever moves funds out of a deposit address.
    /// Collected funds are in the payment's token only, and the escrow's record of the deposit address as a payer
    /// is what was collected less what was refunded from it.
    function invariant_depositAddressFundsLeaveOnlyByCollectOrReturnStray() public {
        EscrowHandler.DepositAddressLedger[] memory ledgers = _depositAddressLedgers();
        for (uint256 i; i < ledgers.length; ++i) {
            EscrowHandler.DepositAddressLedger memory da = ledgers[i];
            for (uint256 t; t < da.sent.length; ++t) {
                uint256 there = handler.balanceAt(handler.daTokens(t), da.depositAddress);
                assertEq(da.collected[t] + da.returned[t] + there, da.sent[t], "sent != collected + returned + held");
                if (t != da.tokenIndex) assertEq(da.collected[t], 0, "collected in another token than the payment's");
            }
            IOpenPayEscrowCommon.Payment memory stored = escrow.paymentOf(da.paymentId);
            uint256 collected = da.collected[da.tokenIndex];
            if (stored.status == IOpenPayEscrowCommon.Status.Open || stored.status == IOpenPayEscrowCommon.Status.Expired) {
                assertEq(
                    escrow.depositOf(da.paymentId, da.depositAddress) + da.refunded,
                    collected,
                    "deposit-address deposit != collected - refunded"
                );
            } else if (stored.status == IOpenPayEscrowCommon.Status.None) {
                assertEq(collected, 0, "collected into a payment the escrow does not know");
            } else {
                assertLe(collected, stored.amount, "collected > payment amount");
                assertEq(da.refunded, 0, "deposit address refunded from a paid payment");
            }
        }
    }

    function _depositAddressLedgers() private view returns (EscrowHandler.DepositAddressLedger[] memory ledgers) {
        ledgers = new EscrowHandler.DepositAddressLedger[](handler.paymentCount());
        for (uint256 i; i < ledgers.length; ++i) ledgers[i] = handler.depositAddressLedger(i);
    }

    function _openDepositsOnChain(address token) private view returns (uint256 open) {
        for (uint256 i; i < handler.paymentCount(); ++i) {
            EscrowHandler.Pay memory p = handler.payment(i);
            IOpenPayEscrowCommon.Status status = escrow.paymentOf(p.intent.paymentId).status;
            if (handler.tokens(p.tokenIndex) != token) continue;
            if (status != IOpenPayEscrowCommon.Status.Open && status != IOpenPayEscrowCommon.Status.Expired) continue;
            for (uint256 k; k < p.payers.length; ++k) open += escrow.depositOf(p.intent.paymentId, p.payers[k]);
        }
    }
}
