// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";

import {OpenPayEscrow} from "../../../contracts/OpenPayEscrow.sol";
import {IOpenPayEscrow} from "../../../contracts/interfaces/IOpenPayEscrow.sol";
import {EscrowHandler} from "./EscrowHandler.sol";

/// @title Escrow solvency invariants
/// @notice After any sequence of payments (full, partial, over; two ERC-20s, one blacklisting, and BNB; several
/// payers including a contract that refuses BNB), time warps, price moves, expiries with refunds, claims, merchant
/// withdrawals and refunds, fee changes, fee withdrawals, donations and rescues, the escrow owes exactly what the
/// ghost accounts say, holds at least that, and never pays a payment out beyond what was deposited into it.
contract EscrowSolvencyInvariantTest is Test {
    EscrowHandler internal handler;
    OpenPayEscrow internal escrow;

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
            IOpenPayEscrow.TokenLedger memory ledger = escrow.ledgerOf(token);
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
            IOpenPayEscrow.TokenLedger memory ledger = escrow.ledgerOf(handler.tokens(i));
            assertLe(ledger.fees, ledger.owed, "fees > owed");
        }
    }

    function invariant_noPaymentPaysOutMoreThanWasDeposited() public {
        for (uint256 i; i < handler.paymentCount(); ++i) {
            EscrowHandler.Pay memory p = handler.payment(i);
            bytes32 id = p.intent.paymentId;
            IOpenPayEscrow.Payment memory stored = escrow.paymentOf(id);
            assertLe(p.paidOutObserved, p.depositedObserved, "paid out > deposited");
            assertEq(stored.amount, p.depositedObserved, "recorded amount != tokens that arrived");
            assertLe(escrow.refundedOf(id), stored.amount, "merchant refunds > amount");
            if (stored.status == IOpenPayEscrow.Status.Open || stored.status == IOpenPayEscrow.Status.Expired) {
                // Conservation: what is still refundable plus what went out is exactly what came in.
                uint256 left;
                for (uint256 k; k < p.payers.length; ++k) left += escrow.depositOf(id, p.payers[k]);
                assertEq(left + p.paidOutObserved, p.depositedObserved, "open/expired deposits not conserved");
            }
        }
    }

    function _openDepositsOnChain(address token) private view returns (uint256 open) {
        for (uint256 i; i < handler.paymentCount(); ++i) {
            EscrowHandler.Pay memory p = handler.payment(i);
            IOpenPayEscrow.Status status = escrow.paymentOf(p.intent.paymentId).status;
            if (handler.tokens(p.tokenIndex) != token) continue;
            if (status != IOpenPayEscrow.Status.Open && status != IOpenPayEscrow.Status.Expired) continue;
            for (uint256 k; k < p.payers.length; ++k) open += escrow.depositOf(p.intent.paymentId, p.payers[k]);
        }
    }
}
