// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IOpenPayEscrow} from "../../../contracts/interfaces/IOpenPayEscrow.sol";
import {IOpenPayEscrowCommon} from "../../../contracts/interfaces/IOpenPayEscrowCommon.sol";
import {EscrowHandler} from "./EscrowHandler.sol";

/// @title Escrow solvency invariants
/// @notice After any sequence of payments (full, partial, over; two ERC-20s, one blacklisting, and BNB; intents
/// accepting one, two or all three of them, each token adding up apart; several payers including a contract that
/// refuses BNB, paying for themselves or naming a beneficiary), time warps, price moves, expiries with refunds (and
/// refunds, after a payment was paid, of its deposits in the tokens that did not pay it), claims, merchant
/// withdrawals and refunds, fee, tolerance and time-to-live changes, fee withdrawals, donations and rescues, the
/// escrow owes exactly what the ghost accounts say (token by token, payer by payer), holds at least that (so nothing
/// owed is ever rescuable), and never pays a payment out beyond what was deposited into it in each token. A payment
/// takes deposits in exactly the tokens its intent accepts, whatever anyone deposited before, and is paid only by a
/// token whose deposits were worth amount × (1 − its tolerance) at the price in force when it completed.
/// Payments are also paid through their deposit addresses: plain transfers of tokens and BNB (what is due, part,
/// more, any token, a token never accepted, dust, after completion or expiry), collect (top-ups with an empty
/// signature; late collects by the operator within the window after the expiry, refused to anyone else), expiries
/// (within that window refused to anyone but the operator while what waits at the deposit address would complete
/// the payment, and never for dust), the operator's refundDepositAddress, and
/// returnStray (claimable when the receiver refuses it). The deposit addresses hold exactly what was sent there and
/// neither collected nor returned, and nothing else ever leaves them.
/// @dev The checks run after every call of every run, so they read the handler through small views and keep its
/// fixed addresses here.
contract EscrowSolvencyInvariantTest is Test {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant TOKEN_COUNT = 3;
    uint256 internal constant DA_TOKEN_COUNT = 4;
    uint256 internal constant ACTOR_COUNT = 4;
    uint256 internal constant MERCHANT_COUNT = 2;

    EscrowHandler internal handler;
    IOpenPayEscrow internal escrow;
    /// @dev The handler's tokens (BNB is the zero address), then `junk`, which only deposit addresses receive.
    address[DA_TOKEN_COUNT] internal daTokens;
    /// @dev The escrow's index of each of the handler's tokens (the bit of `acceptedTokens` that accepts it).
    uint8[TOKEN_COUNT] internal escrowIndex;
    address[ACTOR_COUNT] internal actors;
    address[MERCHANT_COUNT] internal merchants;

    function setUp() public {
        vm.warp(1_750_000_000);
        handler = new EscrowHandler();
        escrow = handler.escrow();
        assertEq(handler.tokenCount(), TOKEN_COUNT, "token count");
        assertEq(handler.daTokenCount(), DA_TOKEN_COUNT, "deposit-address token count");
        assertEq(handler.actorCount(), ACTOR_COUNT, "actor count");
        assertEq(handler.merchantCount(), MERCHANT_COUNT, "merchant count");
        for (uint256 t; t < DA_TOKEN_COUNT; ++t) daTokens[t] = handler.daTokens(t);
        for (uint256 t; t < TOKEN_COUNT; ++t) {
            assertEq(daTokens[t], handler.tokens(t), "deposit-address tokens start with the tokens");
            escrowIndex[t] = handler.escrowIndex(t);
        }
        for (uint256 a; a < ACTOR_COUNT; ++a) actors[a] = handler.actors(a);
        for (uint256 m; m < MERCHANT_COUNT; ++m) merchants[m] = handler.merchants(m);
    }

    /// @notice Read by forge: only the handler's actions are called.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_handlerSawOnlyExpectedBehaviour() public {
        assertEq(handler.failures(), 0, handler.failure());
    }

    /// @notice Nothing owed is ever rescuable: the escrow holds at least what it owes, and its only surplus is what
    /// was donated and not rescued (the handler's rescues beyond that surplus must fail).
    function invariant_escrowHoldsAtLeastWhatItOwes() public {
        for (uint256 t; t < TOKEN_COUNT; ++t) {
            address token = daTokens[t];
            uint256 held = _balanceOf(token, address(escrow));
            uint256 owed = escrow.ledgerOf(token).owed;
            assertGe(held, owed, "held < owed");
            // Nothing leaves or arrives unaccounted: the only surplus is what was donated and not rescued.
            assertEq(held, owed + handler.ghost(token).donated, "held != owed + donations");
        }
    }

    /// @notice Token by token, what the escrow owes is its merchants' balances, the refundable deposits (of open and
    /// expired payments, and of paid payments in the tokens that did not pay them), the claimable refunds and the
    /// fees, each equal to the ghost accounts; each payer's refundable deposit in each token it paid in equals the
    /// ghost's.
    function invariant_owedIsBalancesPlusOpenDepositsPlusClaimablePlusFees() public {
        uint256[TOKEN_COUNT] memory open = _refundableDepositsOnChain();
        for (uint256 t; t < TOKEN_COUNT; ++t) {
            address token = daTokens[t];
            IOpenPayEscrowCommon.TokenLedger memory ledger = escrow.ledgerOf(token);
            assertEq(ledger.owed, handler.ghostOwed(token), "owed != ghost balances + open + claimable + fees");
            assertEq(ledger.fees, handler.ghost(token).fees, "fees != ghost fees");

            uint256 claimable;
            for (uint256 a; a < ACTOR_COUNT; ++a) {
                uint256 c = escrow.claimableOf(token, actors[a]);
                assertEq(c, handler.ghostClaimable(token, actors[a]), "claimable");
                claimable += c;
            }
            uint256 balances;
            for (uint256 m; m < MERCHANT_COUNT; ++m) {
                uint256 b = escrow.balanceOf(merchants[m], token);
                assertEq(b, handler.ghostBalance(merchants[m], token), "balance");
                balances += b;
            }
            assertEq(open[t], handler.ghost(token).openDeposits, "refundable deposits");
            assertEq(ledger.owed, balances + open[t] + claimable + ledger.fees, "owed != on-chain parts");
        }
    }

    function invariant_feesNeverExceedOwed() public {
        for (uint256 t; t < TOKEN_COUNT; ++t) {
            IOpenPayEscrowCommon.TokenLedger memory ledger = escrow.ledgerOf(daTokens[t]);
            assertLe(ledger.fees, ledger.owed, "fees > owed");
        }
    }

    /// @notice Token by token: a payment never pays out more than came in; its record holds exactly what came in in
    /// its token; what is still refundable plus what went out is exactly what came in, in every token but the one
    /// that paid it (whose deposits are the merchant's, and of which only the merchant's refunds went out); and the
    /// deposit address is refunded at most what was collected from it, which with what was returned as strays never
    /// exceeds what was sent there.
    function invariant_noPaymentPaysOutMoreThanWasDeposited() public {
        uint256 n = handler.paymentCount();
        for (uint256 i; i < n; ++i) {
            EscrowHandler.Summary memory s = handler.summary(i);
            EscrowHandler.Totals memory c = handler.totals(i);
            IOpenPayEscrowCommon.Payment memory stored = escrow.paymentOf(s.paymentId);
            uint256 refunded = escrow.refundedOf(s.paymentId);
            bool paid = _paid(stored.status);
            assertLe(refunded, stored.amount, "merchant refunds > amount");
            for (uint256 t; t < TOKEN_COUNT; ++t) {
                assertLe(c.paidOutObserved[t], c.depositedObserved[t], "paid out > deposited");
                assertLe(c.addressRefunded[t], c.collected[t], "deposit-address refunds > collected");
                bool recordToken = stored.status != IOpenPayEscrowCommon.Status.None && escrowIndex[t] == stored.tokenIndex;
                if (recordToken) {
                    assertEq(stored.amount, c.depositedObserved[t], "recorded amount != tokens that arrived in its token");
                }
                if (paid && recordToken) {
                    assertEq(c.paidOutObserved[t], refunded, "paid out of the paying token != merchant refunds");
                    continue;
                }
                if (c.depositedObserved[t] == 0) continue; // nothing in, nothing out (checked above)
                // Conservation: what is still refundable plus what went out is exactly what came in.
                uint256 left;
                for (uint256 k; k < s.payers.length; ++k) left += escrow.depositOf(s.paymentId, daTokens[t], s.payers[k]);
                assertEq(left + c.paidOutObserved[t], c.depositedObserved[t], "refundable deposits not conserved");
            }
            for (uint256 t; t < DA_TOKEN_COUNT; ++t) {
                assertLe(c.collected[t] + c.returned[t], c.sent[t], "collected + returned > sent to the address");
            }
        }
    }

    /// @notice No actor but the payer changes which tokens a payment takes: deposits (direct or collected from the
    /// deposit address) arrive only in tokens the intent accepts and the record's token is always one of them; and
    /// the handler saw every open payment take a third party's deposit in each token its intent accepts, into that
    /// token's own slot, and refuse one in every other token with TokenNotAccepted, whatever anyone deposited
    /// before, and every deposit in a token an intent does not accept refused with TokenNotAccepted whatever the
    /// payment's state.
    function invariant_paymentsTakeExactlyTheirIntentsTokens() public {
        assertEq(handler.tokenChoiceViolations(), 0, "a payment's tokens were not exactly its intent's");
        uint256 n = handler.paymentCount();
        for (uint256 i; i < n; ++i) {
            EscrowHandler.Summary memory s = handler.summary(i);
            EscrowHandler.Totals memory c = handler.totals(i);
            IOpenPayEscrowCommon.Payment memory stored = escrow.paymentOf(s.paymentId);
            if (stored.status != IOpenPayEscrowCommon.Status.None) {
                assertTrue((s.acceptedTokens >> stored.tokenIndex) & 1 == 1, "record's token not accepted");
            }
            for (uint256 t; t < TOKEN_COUNT; ++t) {
                if ((s.acceptedTokens >> escrowIndex[t]) & 1 == 1) continue;
                assertEq(c.depositedObserved[t], 0, "deposited in a token the intent does not accept");
                assertEq(c.collected[t], 0, "collected in a token the intent does not accept");
                assertEq(c.amounts[t], 0, "received in a token the intent does not accept");
                assertEq((s.tokensUsed >> t) & 1, 0, "recorded a deposit in a token the intent does not accept");
            }
            assertEq(c.collected[TOKEN_COUNT], 0, "collected a token the escrow does not accept");
        }
    }

    /// @notice No sequence of deposits at moving prices pays a payment with less than amount × (1 − tolerance): the
    /// record of every paid payment holds the value of its paying token's deposits at the price when it completed,
    /// computed independently by the handler, and that value covers the amount within that token's tolerance then.
    function invariant_noPaymentCompletesBelowItsAmountLessTolerance() public {
        uint256 n = handler.paymentCount();
        for (uint256 i; i < n; ++i) {
            EscrowHandler.Summary memory s = handler.summary(i);
            IOpenPayEscrowCommon.Payment memory stored = escrow.paymentOf(s.paymentId);
            if (!_paid(stored.status)) continue;
            assertEq(stored.tokenIndex, escrowIndex[s.tokenIndex], "paid in another token than the handler's");
            assertEq(stored.amount, s.amount, "paid amount != units received in the paying token");
            assertEq(stored.receivedUsd, s.completedUsd, "completing value != independent valuation");
            assertGe(
                uint256(stored.receivedUsd) * BPS,
                s.amountUsd * (BPS - s.completedToleranceBps),
                "paid with less than amount x (1 - tolerance)"
            );
        }
    }

    /// @notice Token by token (the three accepted and one never accepted): all deposit addresses together hold
    /// exactly what waits there uncollected by the ghost count, the escrow holds at least what it owes, and so
    /// both together cover everything owed plus everything uncollected.
    function invariant_escrowAndDepositAddressesCoverOwedAndUncollected() public {
        address[] memory addresses = handler.depositAddresses();
        for (uint256 t; t < DA_TOKEN_COUNT; ++t) {
            address token = daTokens[t];
            uint256 atAddresses;
            for (uint256 i; i < addresses.length; ++i) atAddresses += _balanceOf(token, addresses[i]);
            uint256 uncollected = handler.ghostUncollected(token);
            assertEq(atAddresses, uncollected, "deposit addresses hold != ghost uncollected");
            uint256 held = _balanceOf(token, address(escrow));
            uint256 owed = escrow.ledgerOf(token).owed;
            assertGe(held, owed, "escrow holds < owed");
            assertGe(held + atAddresses, owed + uncollected, "escrow + deposit addresses < owed + uncollected");
        }
    }

    /// @notice Per payment and token, what was sent to the deposit address is exactly what collect took plus what
    /// returnStray returned plus what is still there: nothing else ever moves funds out of a deposit address.
    /// Collected funds are in the intent's tokens only, and, in every token but the one that paid the payment, the
    /// escrow's record of the deposit address as a payer is what was collected less what was refunded from it.
    function invariant_depositAddressFundsLeaveOnlyByCollectOrReturnStray() public {
        uint256 n = handler.paymentCount();
        for (uint256 i; i < n; ++i) {
            EscrowHandler.DepositAddressLedger memory da = handler.depositAddressLedger(i);
            IOpenPayEscrowCommon.Payment memory stored = escrow.paymentOf(da.paymentId);
            for (uint256 t; t < DA_TOKEN_COUNT; ++t) {
                address token = daTokens[t];
                uint256 there = _balanceOf(token, da.depositAddress);
                assertEq(da.collected[t] + da.returned[t] + there, da.sent[t], "sent != collected + returned + held");
                if (t == TOKEN_COUNT || (da.acceptedTokens >> escrowIndex[t]) & 1 == 0) {
                    assertEq(da.collected[t], 0, "collected in a token the intent does not accept");
                    continue;
                }
                if (stored.status == IOpenPayEscrowCommon.Status.None) {
                    assertEq(da.collected[t], 0, "collected into a payment the escrow does not know");
                } else if (_paid(stored.status) && escrowIndex[t] == stored.tokenIndex) {
                    assertLe(da.collected[t], stored.amount, "collected > payment amount");
                    assertEq(da.refunded[t], 0, "deposit address refunded in the token that paid the payment");
                } else if (da.collected[t] == 0) {
                    assertEq(da.refunded[t], 0, "deposit address refunded what was never collected");
                } else {
                    assertEq(
                        escrow.depositOf(da.paymentId, token, da.depositAddress) + da.refunded[t],
                        da.collected[t],
                        "deposit-address deposit != collected - refunded"
                    );
                }
            }
        }
    }

    /// @dev What the escrow reports refundable per token over every payment and payer, checked payer by payer
    /// against the ghost record, in every token the payment took a deposit in (depositOf is zero in the token that
    /// paid a payment, and so is the ghost's record). A deposit recorded in any other token would also show in the
    /// token's `owed`, which the caller compares with the ghost's.
    function _refundableDepositsOnChain() private returns (uint256[TOKEN_COUNT] memory open) {
        uint256 n = handler.paymentCount();
        for (uint256 i; i < n; ++i) {
            EscrowHandler.Summary memory s = handler.summary(i);
            for (uint256 t; t < TOKEN_COUNT; ++t) {
                if ((s.tokensUsed >> t) & 1 == 0) continue;
                for (uint256 k; k < s.payers.length; ++k) {
                    uint256 deposit = escrow.depositOf(s.paymentId, daTokens[t], s.payers[k]);
                    assertEq(deposit, handler.ghostDeposit(s.paymentId, daTokens[t], s.payers[k]), "depositOf != ghost");
                    open[t] += deposit;
                }
            }
        }
    }

    function _paid(IOpenPayEscrowCommon.Status status) private pure returns (bool) {
        return status == IOpenPayEscrowCommon.Status.Completed || status == IOpenPayEscrowCommon.Status.PartiallyRefunded
            || status == IOpenPayEscrowCommon.Status.Refunded;
    }

    function _balanceOf(address token, address account) private view returns (uint256) {
        return token == address(0) ? account.balance : IERC20(token).balanceOf(account);
    }
}
