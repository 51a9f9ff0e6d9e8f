// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/shared/mocks/MockV3Aggregator.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {OpenPayEscrow} from "../../../contracts/OpenPayEscrow.sol";
import {IOpenPayEscrow} from "../../../contracts/interfaces/IOpenPayEscrow.sol";
import {IOpenPayEscrowPayments} from "../../../contracts/interfaces/IOpenPayEscrowPayments.sol";
import {IOpenPayEscrowCommon} from "../../../contracts/interfaces/IOpenPayEscrowCommon.sol";
import {BlacklistToken} from "../../../contracts/test/BlacklistToken.sol";
import {RevertingReceiver} from "../../../contracts/test/RevertingReceiver.sol";
import {TestToken} from "../../../contracts/test/TestToken.sol";

/// @title DepositProber
/// @notice Makes one deposit as a third party and reverts with what happened, so that the handler can ask "would a
/// deposit in this token be taken now?" without changing anything: the deposit, the mint that funds it and
/// everything the escrow recorded are rolled back with the revert.
contract DepositProber {
    /// @notice What the deposit did: whether it succeeded (else its revert data), the payment afterwards, and the
    /// prober's refundable deposit in the token afterwards.
    error ProbeResult(bool ok, bytes err, IOpenPayEscrowCommon.Payment payment, uint256 deposit);

    function probe(
        IOpenPayEscrow escrow,
        IOpenPayEscrowCommon.PaymentIntent calldata intent,
        bytes calldata signature,
        address token,
        uint256 amount
    ) external payable {
        bool ok;
        bytes memory err;
        if (token == address(0)) {
            (ok, err) = address(escrow).call{value: msg.value}(
                abi.encodeCall(IOpenPayEscrowPayments.payNative, (intent, signature, address(0)))
            );
        } else {
            TestToken(token).mint(address(this), amount);
            IERC20(token).approve(address(escrow), amount);
            (ok, err) = address(escrow).call(
                abi.encodeCall(IOpenPayEscrowPayments.pay, (intent, signature, token, amount, address(0)))
            );
        }
        revert ProbeResult(
            ok, err, escrow.paymentOf(intent.paymentId), escrow.depositOf(intent.paymentId, token, address(this))
        );
    }
}

/// @title EscrowHandler
/// @notice Drives one escrow with bounded random actions for forge's invariant fuzzer and keeps ghost accounts of
/// what the escrow should owe, computed independently of the escrow.
/// @dev Deliberately not a forge-std `Test`: every public non-view function here is an action the fuzzer calls.
/// The handler never reverts on a surprise: it records it in `failures`/`failure`, which an invariant checks
/// (with `fail_on_revert = false` a revert would roll the surprise back and hide it).
///
/// Tokens: index 0 is a 6-decimal stablecoin, 1 an 18-decimal stablecoin that blacklists like USDT/USDC, 2 is BNB
/// (the escrow's indices 1, 2 and 3). Deposit addresses can also receive index 3, a token the escrow never accepts
/// (`junk`). Every intent accepts a random non-empty subset of the three (a single token in 3 intents out of 7,
/// sometimes with bits of unregistered indices set too), and each accepted token adds up apart
/// (docs/contracts.md, "token-choice"): the handler keeps per payment and token what was received, valued at that
/// token's price, and completes the payment in whichever token first reaches amount × (1 − that token's tolerance);
/// the deposits in its other tokens stay refundable to their payers, by `expire` and `refundDepositAddress`.
/// Actors (payers, beneficiaries and refund receivers): three EOAs and a RevertingReceiver contract that refuses BNB.
/// A direct deposit is recorded for the payer or for the beneficiary it names. The `operator` holds OPERATOR_ROLE
/// (the keeper that refunds deposit-address deposits and strays). Some intents expire further away than the
/// escrow's time-to-live limit (which the admin also changes): their first deposit must revert ExpiryTooFar until
/// time comes close enough to the expiry.
///
/// A `DepositProber` (a third party) asks, without changing anything, whether an open payment takes a deposit in
/// each token: it must in every token the intent accepts and in no other (TokenNotAccepted), whatever others
/// deposited before; `tokenChoiceViolations` counts the departures.
///
/// Deposit addresses: every payment's deposit address receives plain transfers (what is due, part, more, any token,
/// junk, dust; also after the payment completed or expired), which `collect` brings in (the deposit address is then
/// a payer of the payment; the operator may still collect within LATE_COLLECT_WINDOW after the expiry, and until
/// then nobody else may expire the payment while what waits there would complete it),
/// `expire`/`refundDepositAddress` send back, and `returnStray` returns when they can never be collected (or makes
/// claimable when the receiver refuses them). Per payment and token the handler counts what was sent there,
/// collected and returned.
contract EscrowHandler {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant BPS = 10_000;
    uint8 internal constant FEED_DECIMALS = 8;
    uint32 internal constant STALENESS = 1 days;
    uint256 internal constant TOKEN_COUNT = 3;
    uint256 internal constant MERCHANT_COUNT = 2;
    uint256 internal constant ACTOR_COUNT = 4;
    /// @dev Tokens a deposit address can receive: the three accepted ones and `junk`.
    uint256 internal constant DA_TOKEN_COUNT = 4;

    struct Ghost {
        /// @dev Refundable token units: deposits into open or expired payments, and deposits into paid payments in
        /// tokens other than the one that paid them, not refunded yet.
        uint256 openDeposits;
        /// @dev Sum of `claimable` over all accounts.
        uint256 claimableTotal;
        /// @dev Platform fees not withdrawn yet.
        uint256 fees;
        /// @dev Token units sent straight to the escrow (not owed: rescuable).
        uint256 donated;
    }

    /// @notice The handler's own record of a payment.
    struct Pay {
        IOpenPayEscrowCommon.PaymentIntent intent;
        bytes signature;
        /// @dev The token of the escrow's record: before any deposit the token the handler would pay first in, while
        /// open the token of the first deposit, once paid the token that paid it.
        uint8 tokenIndex;
        uint8 merchantIndex;
        IOpenPayEscrowCommon.Status status;
        /// @dev Token units in the record's token, as the escrow should record them.
        uint256 amount;
        /// @dev USD of `amount` at the price of the latest deposit in that token, by the handler's own arithmetic.
        uint256 receivedUsd;
        /// @dev Per token: units received while the payment was open (each token adds up apart).
        uint256[TOKEN_COUNT] amounts;
        /// @dev Bit t: a deposit in token t was recorded.
        uint256 tokensUsed;
        /// @dev Per token: units seen arriving at the escrow for this payment.
        uint256[TOKEN_COUNT] depositedObserved;
        /// @dev Per token: units seen leaving for this payment (pushed out or made claimable): expiry refunds,
        /// deposit-address refunds, merchant refunds.
        uint256[TOKEN_COUNT] paidOutObserved;
        /// @dev Token units the merchant refunded.
        uint256 merchantRefunded;
        /// @dev USD value, by the handler's own arithmetic, of what paid the payment when it completed, and the
        /// tolerance of the paying token then.
        uint256 completedUsd;
        uint16 completedToleranceBps;
        /// @dev Everyone a deposit was recorded for, in any token (payers, beneficiaries, the deposit address).
        address[] payers;
        /// @dev escrow.depositAddressOf(intent).
        address depositAddress;
        /// @dev Per deposit-address token (`daTokens`): units sent to the deposit address by plain transfer.
        uint256[DA_TOKEN_COUNT] sent;
        /// @dev Per token: units `collect` moved from the deposit address into the escrow.
        uint256[DA_TOKEN_COUNT] collected;
        /// @dev Per token: units `returnStray` moved from the deposit address to a refund receiver.
        uint256[DA_TOKEN_COUNT] returned;
        /// @dev Per token: units of the deposit address's collected deposits refunded (by expire to refundTo, or by
        /// refundDepositAddress).
        uint256[DA_TOKEN_COUNT] addressRefunded;
    }

    /// @notice The parts of a payment's record most invariants need (cheaper to read than `payment`).
    struct Summary {
        bytes32 paymentId;
        uint256 acceptedTokens;
        uint256 amountUsd;
        /// @dev Handler index of the record's token, and units in it (see `Pay`).
        uint8 tokenIndex;
        uint256 amount;
        /// @dev Bit t: a deposit in token t was recorded.
        uint256 tokensUsed;
        uint256 completedUsd;
        uint16 completedToleranceBps;
        address[] payers;
    }

    /// @notice A payment's counts per token (see `Pay`; the first three arrays by token, the others by
    /// deposit-address token).
    struct Totals {
        uint256[TOKEN_COUNT] amounts;
        uint256[TOKEN_COUNT] depositedObserved;
        uint256[TOKEN_COUNT] paidOutObserved;
        uint256[DA_TOKEN_COUNT] sent;
        uint256[DA_TOKEN_COUNT] collected;
        uint256[DA_TOKEN_COUNT] returned;
        uint256[DA_TOKEN_COUNT] addressRefunded;
    }

    /// @notice What the handler counted at one payment's deposit address (see `Pay`).
    struct DepositAddressLedger {
        bytes32 paymentId;
        address depositAddress;
        uint256 acceptedTokens;
        uint256[DA_TOKEN_COUNT] sent;
        uint256[DA_TOKEN_COUNT] collected;
        uint256[DA_TOKEN_COUNT] returned;
        uint256[DA_TOKEN_COUNT] refunded;
    }

    IOpenPayEscrow public immutable escrow;
    TestToken public immutable usd6;
    BlacklistToken public immutable blk;
    RevertingReceiver public immutable receiver;
    DepositProber public immutable prober;
    address public immutable treasury = address(uint160(uint256(keccak256("open-pay treasury"))));
    address public immutable sink = address(uint160(uint256(keccak256("open-pay claim sink"))));
    address public immutable operator = address(uint160(uint256(keccak256("open-pay operator"))));
    TestToken public immutable junk;
    /// @dev escrow.LATE_COLLECT_WINDOW(): how long after the expiry the operator may still collect.
    uint256 public immutable lateWindow;

    address[TOKEN_COUNT] public tokens;
    /// @dev The escrow's index of each token (`tokenAt`): bit `escrowIndex[t]` of an intent accepts token t.
    uint8[TOKEN_COUNT] public escrowIndex;
    MockV3Aggregator[TOKEN_COUNT] public feeds;
    uint8[TOKEN_COUNT] internal _decimals;
    uint256[TOKEN_COUNT] internal _minPrice;
    uint256[TOKEN_COUNT] internal _maxPrice;

    address[MERCHANT_COUNT] public merchants;
    address[MERCHANT_COUNT] public payouts;
    uint256[MERCHANT_COUNT] internal _signerKeys;
    address[ACTOR_COUNT] public actors;
    address[DA_TOKEN_COUNT] public daTokens;

    mapping(address token => Ghost) internal _ghost;
    mapping(address merchant => mapping(address token => uint256)) public ghostBalance;
    mapping(address token => mapping(address account => uint256)) public ghostClaimable;
    /// @dev Refundable units per payment, token and payer (zero in the token that paid a paid payment).
    mapping(bytes32 paymentId => mapping(address token => mapping(address payer => uint256))) public ghostDeposit;
    mapping(bytes32 paymentId => mapping(address payer => bool)) internal _isPayer;
    /// @dev Per deposit-address token: units held by all deposit addresses (sent and neither collected nor returned).
    mapping(address token => uint256) public ghostUncollected;

    Pay[] internal _pays;
    /// @dev Each token's tolerance, by the handler's index of the token.
    uint16[TOKEN_COUNT] public ghostToleranceBps = [100, 100, 100];
    uint16 public ghostFeeBps;
    /// @dev settings().maxTtlHours: how far away a payment's expiry may be at its first deposit.
    uint8 public ghostMaxTtlHours = 24;
    uint256 public currentTime;

    uint256 public failures;
    string public failure;
    /// @notice Times a payment took a deposit in a token its intent does not accept, or refused one in a token it
    /// accepts while open and before its expiry (also counted in `failures`).
    uint256 public tokenChoiceViolations;

    /// @notice How often each outcome happened in the current run (read it in traces when tuning the handler).
    mapping(bytes32 outcome => uint256) public outcomes;
    /// @notice Every outcome seen, in order of first sighting (the keys of `outcomes`).
    bytes32[] public outcomeNames;

    constructor() {
        currentTime = block.timestamp;
        escrow = IOpenPayEscrow(address(new OpenPayEscrow(address(this), treasury)));
        escrow.grantRole(escrow.SIGNER_MANAGER_ROLE(), address(this));
        escrow.grantRole(escrow.OPERATOR_ROLE(), operator);
        lateWindow = escrow.LATE_COLLECT_WINDOW();
        if (escrow.settings().maxTtlHours != ghostMaxTtlHours) _fail("the time-to-live limit is not 24 hours at first");

        usd6 = new TestToken("USD 6", "USD6", 6);
        blk = new BlacklistToken();
        receiver = new RevertingReceiver();
        prober = new DepositProber();
        tokens = [address(usd6), address(blk), address(0)];
        junk = new TestToken("Junk", "JUNK", 18);
        daTokens = [address(usd6), address(blk), address(0), address(junk)];
        _decimals = [6, 18, 18];
        _minPrice = [uint256(0.9e8), 0.9e8, 100e8];
        _maxPrice = [uint256(1.1e8), 1.1e8, 2000e8];
        int256[TOKEN_COUNT] memory start = [int256(1e8), 1e8, 600e8];
        for (uint256 i; i < TOKEN_COUNT; ++i) {
            feeds[i] = new MockV3Aggregator(FEED_DECIMALS, start[i]);
            escrow.setToken(tokens[i], address(feeds[i]), STALENESS);
            escrowIndex[i] = escrow.tokenConfigOf(tokens[i]).index;
            if (escrow.tokenAt(escrowIndex[i]) != tokens[i]) _fail("tokenAt differs from the token's index");
        }

        for (uint256 i; i < MERCHANT_COUNT; ++i) {
            _signerKeys[i] = uint256(keccak256(abi.encode("signer", i)));
            merchants[i] = address(uint160(uint256(keccak256(abi.encode("merchant", i)))));
            payouts[i] = address(uint160(uint256(keccak256(abi.encode("payout", i)))));
            escrow.registerMerchant(merchants[i], payouts[i], vm.addr(_signerKeys[i]));
        }
        for (uint256 i; i < ACTOR_COUNT - 1; ++i) {
            actors[i] = address(uint160(uint256(keccak256(abi.encode("payer", i)))));
        }
        actors[ACTOR_COUNT - 1] = address(receiver);
    }

    // ---------------------------------------------------------------------------------------------
    // Actions
    // ---------------------------------------------------------------------------------------------

    /// @notice A deposit of what is still due in its token (a new payment paid at once, or the top-up that completes
    /// one).
    function payInFull(uint256 paymentSeed, uint256 payerSeed, uint256 tokenSeed, uint256 sizeSeed) external {
        _pay(paymentSeed, payerSeed, tokenSeed, 0, sizeSeed);
    }

    /// @notice A deposit of 1–95% of what is still due in its token (it may still complete within the tolerance).
    function payInPart(uint256 paymentSeed, uint256 payerSeed, uint256 tokenSeed, uint256 sizeSeed) external {
        _pay(paymentSeed, payerSeed, tokenSeed, 1, sizeSeed);
    }

    /// @notice A deposit of 101–200% of what is still due in its token.
    function overpay(uint256 paymentSeed, uint256 payerSeed, uint256 tokenSeed, uint256 sizeSeed) external {
        _pay(paymentSeed, payerSeed, tokenSeed, 2, sizeSeed);
    }

    /// @dev A deposit by one of the actors, for itself or a beneficiary, in one of the intent's tokens (the
    /// first deposit's token or another): a new payment or a top-up of an open one. Deposits that must fail (in a
    /// token the intent does not accept, on any payment; naming the escrow as beneficiary; after the expiry; a first
    /// deposit too long before the expiry; by a blacklisted payer) are checked to fail and change nothing. A deposit
    /// that leaves the payment open is sometimes followed by a third party's probe of every token.
    function _pay(uint256 paymentSeed, uint256 payerSeed, uint256 tokenSeed, uint256 mode, uint256 sizeSeed) private {
        vm.warp(currentTime);
        uint256 index = _openPayment(paymentSeed);
        if (index == type(uint256).max || paymentSeed % 4 == 0) index = _newPayment(paymentSeed, tokenSeed, sizeSeed);
        Pay storage p = _pays[index];
        address payer = actors[payerSeed % ACTOR_COUNT];

        if (tokenSeed % 11 == 0) {
            // A token the intent does not accept, on any payment whatever its state: always TokenNotAccepted.
            Pay storage q = _pays[(tokenSeed >> 8) % _pays.length];
            (bool found, uint8 wrong) = _tokenNotAccepted(q, tokenSeed >> 16);
            if (found) {
                bytes memory reason = abi.encodeWithSelector(
                    IOpenPayEscrowCommon.TokenNotAccepted.selector,
                    q.intent.paymentId,
                    tokens[wrong],
                    q.intent.acceptedTokens
                );
                _payMustFail(q, payer, address(0), wrong, _bound(sizeSeed, 1, 1e21), reason);
                return;
            }
        }
        uint8 t = _depositToken(p, tokenSeed >> 24);
        bool viaAddress = (payerSeed >> 8) % 3 == 0;
        address beneficiary = viaAddress ? address(0) : _beneficiary(payerSeed >> 32);
        if (beneficiary == address(escrow)) {
            bytes memory reason =
                abi.encodeWithSelector(IOpenPayEscrowCommon.EscrowAsReceiver.selector, "beneficiary");
            return _payMustFail(p, payer, beneficiary, t, 1, reason);
        }
        if (block.timestamp > p.intent.expiry) {
            return _payMustFail(p, payer, beneficiary, t, 1, _selector(IOpenPayEscrowCommon.DepositAfterExpiry.selector));
        }
        if (p.status == IOpenPayEscrowCommon.Status.None && _tooFar(p)) {
            bytes memory reason = abi.encodeWithSelector(
                IOpenPayEscrowCommon.ExpiryTooFar.selector,
                p.intent.paymentId,
                p.intent.expiry,
                block.timestamp + uint256(ghostMaxTtlHours) * 1 hours
            );
            return _payMustFail(p, payer, beneficiary, t, 1, reason);
        }
        if (t == 1 && blk.blacklisted(payer)) {
            return _payMustFail(p, payer, beneficiary, 1, 1, _selector(BlacklistToken.Blacklisted.selector));
        }

        uint256 amount = _amountFor(t, _due(p, t), mode, sizeSeed);
        if (viaAddress) {
            // The same deposit by a plain transfer to the deposit address, which the keeper collects at once (with
            // whatever else waits there in that token); a top-up sometimes without the signature.
            _sendToAddress(p, t, payer, amount);
            bool emptySignature = p.status == IOpenPayEscrowCommon.Status.Open && (payerSeed >> 16) % 2 == 0;
            _collect(p, t, emptySignature, actors[(payerSeed >> 24) % ACTOR_COUNT]);
        } else {
            _deposit(p, t, payer, beneficiary, amount);
        }
        if (p.status == IOpenPayEscrowCommon.Status.Open && (payerSeed >> 40) % 3 == 0) _probeTokens(p, sizeSeed);
    }

    /// @notice A third party asks whether an open payment, before its expiry, would take a deposit in each token now
    /// (the deposits are rolled back): it must in exactly the tokens its intent accepts.
    function probeTokens(uint256 paymentSeed, uint256 amountSeed) external {
        vm.warp(currentTime);
        uint256 index = _openPayment(paymentSeed);
        if (index == type(uint256).max || block.timestamp > _pays[index].intent.expiry) return;
        _probeTokens(_pays[index], amountSeed);
    }

    /// @notice Moves time forward; every feed then publishes again (at the same price), as Chainlink's heartbeat does.
    function warp(uint256 secondsSeed) external {
        _warpTo(currentTime + _bound(secondsSeed, 1, 1 days));
        _count("warp");
    }

    /// @notice The feed of a token moves by up to 5% either way (within a plausible range), published now.
    function changePrice(uint256 tokenSeed, uint256 moveSeed) external {
        vm.warp(currentTime);
        uint256 i = tokenSeed % TOKEN_COUNT;
        uint256 price = _price(i) * _bound(moveSeed, BPS - 500, BPS + 500) / BPS;
        if (price < _minPrice[i]) price = _minPrice[i];
        if (price > _maxPrice[i]) price = _maxPrice[i];
        feeds[i].updateAnswer(int256(price));
        _count("changePrice");
    }

    /// @notice Expires an open payment (moving time past its expiry when asked) and refunds some of its payers'
    /// deposits in one token; again on an expired payment, refunds the rest or another token; on a paid payment,
    /// refunds deposits in a token that did not pay it. Refunds of the token that paid it, of a payment paid in one
    /// token only, or of a payment without deposits must fail with NotRefundable.
    function expire(uint256 paymentSeed, uint256 payerMask, bool warpPastExpiry) external {
        vm.warp(currentTime);
        if (_pays.length == 0) return;
        uint256 index = _findExpirable(paymentSeed);
        _expire(index, _tokenWithDeposits(_pays[index], payerMask >> 72), payerMask, warpPastExpiry);
    }

    function _expire(uint256 index, uint8 t, uint256 payerMask, bool warpPastExpiry) private {
        Pay storage p = _pays[index];
        address token = tokens[t];

        if (p.status == IOpenPayEscrowCommon.Status.Open && block.timestamp <= p.intent.expiry) {
            if (!warpPastExpiry) {
                try escrow.expire(p.intent, token, p.payers) {
                    _fail("expire before expiry succeeded");
                } catch (bytes memory err) {
                    _expectSelector(err, IOpenPayEscrowCommon.PaymentNotExpired.selector, "expire before expiry");
                }
                _count("expire: not yet");
                return;
            }
            _warpTo(uint256(p.intent.expiry) + 1);
        }
        bool byOperator = (payerMask >> 60) % 4 == 0;
        uint256 windowEnd = uint256(p.intent.expiry) + lateWindow;
        if (p.status == IOpenPayEscrowCommon.Status.Open && block.timestamp <= windowEnd && (payerMask >> 64) % 4 == 0) {
            _warpTo(windowEnd + 1);
        }
        bool othersInWindow = p.status == IOpenPayEscrowCommon.Status.Open && !byOperator && block.timestamp <= windowEnd;
        if (othersInWindow && _completingTokenPending(p)) {
            // The deposit address holds enough of a token the payment accepts to complete it, which the operator may
            // still collect as paid in time: until the window ends only the operator may expire the payment.
            try escrow.expire(p.intent, token, p.payers) {
                _fail("expire by others during the late-collect window succeeded");
            } catch (bytes memory err) {
                _expectSelector(err, IOpenPayEscrowCommon.LateCollectPending.selector, "expire during the late-collect window");
            }
            if (escrow.paymentOf(p.intent.paymentId).status != IOpenPayEscrowCommon.Status.Open) {
                _fail("a refused expire changed the payment");
            }
            return _count("expire: late collect pending");
        }
        // Less than that (dust) holds nobody back: the expiry below must succeed.
        if (othersInWindow && _acceptedTokenPending(p)) _count("expire: in the window past dust");
        if (p.status != IOpenPayEscrowCommon.Status.Open && !_refundable(p, t)) {
            // No record, or paid: nothing refundable in the token that paid it, nor in any token if it was paid
            // in one token only.
            bytes memory reason =
                abi.encodeWithSelector(IOpenPayEscrowCommon.NotRefundable.selector, p.intent.paymentId, p.status, token);
            uint256 heldBeforeRefusal = _held(token);
            if (byOperator) vm.prank(operator);
            try escrow.expire(p.intent, token, p.payers) {
                _fail("expire of deposits that are not refundable succeeded");
            } catch (bytes memory err) {
                _expectError(err, reason, "expire of deposits that are not refundable");
            }
            if (_held(token) != heldBeforeRefusal) _fail("a refused expire moved funds");
            bool none = p.status == IOpenPayEscrowCommon.Status.None;
            return _count(none ? bytes32("expire refused: no payment") : bytes32("expire refused: paying token"));
        }

        address[] memory listed = _listPayers(p, payerMask);
        if (token == address(blk) && listed.length != 0 && (payerMask >> 56) % 3 == 0) {
            // The payer (or the intent's refundTo) was blacklisted after paying: its refund must become claimable.
            address victim = p.intent.refundTo == address(0) ? listed[0] : p.intent.refundTo;
            if (victim != p.depositAddress) blk.setBlacklisted(victim, true);
        }
        (uint256 heldBefore, uint256 claimableBefore) = (_held(token), _claimableOfActors(token));
        uint256[ACTOR_COUNT] memory balancesBefore = _actorBalances(token);
        IOpenPayEscrowCommon.Status statusBefore = p.status;
        (uint256 expected, uint256[ACTOR_COUNT] memory pushed) = _ghostRefund(p, t, listed);

        if (byOperator) vm.prank(operator);
        try escrow.expire(p.intent, token, listed) {
            if (p.status == IOpenPayEscrowCommon.Status.Open) p.status = IOpenPayEscrowCommon.Status.Expired;
        } catch (bytes memory err) {
            _failWith("expire", err);
            return;
        }
        uint256 paidOut = heldBefore - _held(token) + _claimableOfActors(token) - claimableBefore;
        if (paidOut != expected) _fail("expire paid out other than the listed payers' deposits");
        uint256[ACTOR_COUNT] memory balancesAfter = _actorBalances(token);
        for (uint256 a; a < ACTOR_COUNT; ++a) {
            if (balancesAfter[a] - balancesBefore[a] != pushed[a]) _fail("an expiry refund reached the wrong address");
        }
        if (escrow.paymentOf(p.intent.paymentId).status != p.status) _fail("expire left another status");
        p.paidOutObserved[t] += paidOut;
        if (statusBefore == IOpenPayEscrowCommon.Status.Open || statusBefore == IOpenPayEscrowCommon.Status.Expired) {
            _count(listed.length == 0 ? bytes32("expire: nobody listed") : bytes32("expire: refunded"));
        } else {
            _count(expected == 0 ? bytes32("expire paid: nothing") : bytes32("expire paid: other refunded"));
        }
    }

    /// @notice An actor with a claimable refund claims it, to itself, another actor or a fresh address; a claim to
    /// an address that cannot receive must revert and leave the claim in place.
    function claim(uint256 actorSeed, uint256 tokenSeed, uint256 toSeed) external {
        vm.warp(currentTime);
        (address account, uint256 t) = _findClaimant(actorSeed, tokenSeed);
        if (account == address(0)) return;
        address token = tokens[t];
        uint256 amount = ghostClaimable[token][account];
        address to = toSeed % 3 == 0 ? sink : actors[toSeed % ACTOR_COUNT];
        uint256 before = _balanceOf(token, to);

        bool ok = _callAs(account, abi.encodeCall(IOpenPayEscrowPayments.claim, (token, to)));
        if (!_canReceive(token, to)) {
            if (ok) _fail("claim to an address that cannot receive succeeded");
            if (escrow.claimableOf(token, account) != amount) _fail("failed claim changed the claimable amount");
            _count("claim: receiver refuses");
            return;
        }
        if (!ok) return _fail("claim reverted");
        if (_balanceOf(token, to) - before != amount) _fail("claim sent another amount");
        ghostClaimable[token][account] = 0;
        _ghost[token].claimableTotal -= amount;
        _count("claim");
    }

    /// @notice A merchant withdraws part or all of its balance to its payout wallet.
    function withdraw(uint256 merchantSeed, uint256 tokenSeed, uint256 amountSeed) external {
        vm.warp(currentTime);
        address merchant = merchants[merchantSeed % MERCHANT_COUNT];
        address payout = payouts[merchantSeed % MERCHANT_COUNT];
        address token = tokens[tokenSeed % TOKEN_COUNT];
        uint256 balance = ghostBalance[merchant][token];
        if (balance == 0) return;
        uint256 amount = amountSeed % 2 == 0 ? balance : _bound(amountSeed, 1, balance);
        uint256 before = _balanceOf(token, payout);
        vm.prank(merchant);
        try escrow.withdraw(token, amount) {} catch (bytes memory err) {
            return _failWith("withdraw", err);
        }
        if (_balanceOf(token, payout) - before != amount) _fail("withdraw sent another amount");
        ghostBalance[merchant][token] -= amount;
        _count("withdraw");
    }

    /// @notice A merchant refunds a paid payment, in full or in part, to an actor (which may be unable to receive,
    /// so the refund becomes claimable), in the token that paid it.
    function merchantRefund(uint256 paymentSeed, uint256 amountSeed, uint256 toSeed) external {
        vm.warp(currentTime);
        uint256 index = _findPaid(paymentSeed);
        if (index == type(uint256).max) return;
        Pay storage p = _pays[index];
        address merchant = merchants[p.merchantIndex];
        address token = tokens[p.tokenIndex];
        uint256 refundable = p.amount - p.merchantRefunded;
        uint256 balance = ghostBalance[merchant][token];
        uint256 most = refundable < balance ? refundable : balance;
        if (most == 0) return;
        uint256 amount = amountSeed % 3 == 0 ? most : _bound(amountSeed, 1, most);
        address to = actors[toSeed % ACTOR_COUNT];
        (uint256 heldBefore, uint256 claimableBefore) = (_held(token), _claimableOfActors(token));
        uint256 toBefore = _balanceOf(token, to);

        vm.prank(merchant);
        try escrow.refund(p.intent.paymentId, to, amount) {} catch (bytes memory err) {
            return _failWith("refund", err);
        }
        ghostBalance[merchant][token] -= amount;
        if (!_canReceive(token, to)) {
            ghostClaimable[token][to] += amount;
            _ghost[token].claimableTotal += amount;
        } else if (_balanceOf(token, to) - toBefore != amount) {
            _fail("a merchant refund did not reach its receiver");
        }
        uint256 paidOut = heldBefore - _held(token) + _claimableOfActors(token) - claimableBefore;
        if (paidOut != amount) _fail("refund paid out another amount");
        p.paidOutObserved[p.tokenIndex] += paidOut;
        p.merchantRefunded += amount;
        p.status = p.merchantRefunded == p.amount ? IOpenPayEscrowCommon.Status.Refunded : IOpenPayEscrowCommon.Status.PartiallyRefunded;
        _checkPayment(p);
        _count(amount == refundable ? bytes32("refund: full") : bytes32("refund: partial"));
    }

    /// @notice Blacklists or clears an actor in the blacklisting token.
    function toggleBlacklist(uint256 actorSeed) external {
        address actor = actors[actorSeed % ACTOR_COUNT];
        blk.setBlacklisted(actor, !blk.blacklisted(actor));
        _count("toggleBlacklist");
    }

    /// @notice Someone sends dust, or what completes the payment in that token, to an open payment's deposit address
    /// before its expiry; then, within the late-collect window, the operator (one time in four) or anyone else expires
    /// it. Anyone else must be refused (LateCollectPending) exactly while what waits would complete the payment.
    function expireWhileFundsWait(uint256 paymentSeed, uint256 sizeSeed, uint256 payerMask) external {
        vm.warp(currentTime);
        if (_pays.length == 0) return;
        uint256 index = _openPayment(paymentSeed);
        if (index == type(uint256).max || block.timestamp > _pays[index].intent.expiry) return;
        Pay storage p = _pays[index];
        uint8 t = _depositToken(p, sizeSeed >> 8);
        uint256 amount = sizeSeed % 2 == 0 ? _bound(sizeSeed >> 16, 1, 1000) : _amountFor(t, _due(p, t), 0, 0);
        _sendToAddress(p, t, actors[(sizeSeed >> 4) % ACTOR_COUNT], amount);
        _warpTo(uint256(p.intent.expiry) + 1 + (sizeSeed >> 32) % lateWindow);
        // _expire's choices: stay within the window (bits 64–65 not 0), by the operator when bits 60–61 are 0.
        bool byOperator = (payerMask >> 60) % 4 == 0;
        payerMask = (payerMask & ~(uint256(0xff) << 60)) | (uint256(1) << 64) | (byOperator ? 0 : uint256(1) << 60);
        _expire(index, t, payerMask, false);
    }

    // ---------------------------------------------------------------------------------------------
    // Deposit addresses
    // ---------------------------------------------------------------------------------------------

    /// @notice Someone sends tokens or BNB to a payment's deposit address by a plain transfer: what is still due in
    /// one of the intent's tokens (mode 0), part of it (1), more (2), any of the three tokens, accepted or not (3), a
    /// token the escrow never accepts (4), or dust (5); to a new payment or to any existing one, so also after it
    /// completed, expired or was refunded.
    function sendToDepositAddress(uint256 paymentSeed, uint256 senderSeed, uint256 modeSeed, uint256 sizeSeed)
        external
    {
        vm.warp(currentTime);
        uint256 index;
        if (_pays.length == 0 || paymentSeed % 4 == 0) index = _newPayment(paymentSeed, modeSeed >> 8, sizeSeed);
        else if (paymentSeed % 4 == 1) index = paymentSeed % _pays.length; // any: maybe completed or expired
        else index = _payablePayment(paymentSeed);
        Pay storage p = _pays[index];
        uint256 mode = modeSeed % 6;
        uint256 t = _depositToken(p, modeSeed >> 12);
        uint256 amount;
        if (mode <= 2) {
            // Sized against what is still due in that token less what already waits at the deposit address.
            uint256 due = _due(p, t);
            uint256 waiting = _usdOf(t, _pending(p, t));
            amount = _amountFor(t, due > waiting ? due - waiting : due, mode, sizeSeed);
        } else if (mode == 5) {
            amount = _bound(sizeSeed, 1, 1000);
        } else {
            t = mode == 3 ? (modeSeed >> 4) % TOKEN_COUNT : TOKEN_COUNT;
            amount = _bound(sizeSeed, 1, 10 ** (t == 0 ? 6 : 18) * 1000);
        }
        _sendToAddress(p, t, actors[senderSeed % ACTOR_COUNT], amount);

        bool collectable = _collectable(p, t, false);
        if (mode == 5) _count(collectable ? bytes32("send: dust") : bytes32("send: dust stray"));
        else if (mode == 4) _count("send: junk token");
        else if (mode == 3 && !_accepts(p, t)) _count("send: token not accepted");
        else if (!collectable) _count("send: stray");
        else if (mode == 3) _count("send: any accepted token");
        else _count(mode == 0 ? bytes32("send: due") : mode == 1 ? bytes32("send: part") : bytes32("send: over"));
    }

    /// @notice Anyone (sometimes the operator) collects what a deposit address holds of a token, with the intent's
    /// signature or, for a top-up of an open payment, an empty one; sometimes late, within the window after the
    /// expiry when only the operator may. Collects that must fail (nothing there, junk, a token the intent does not
    /// accept, after completion or expiry, late by anyone but the operator, a first deposit too long before the
    /// expiry, an empty signature for a new payment) are checked to fail and change nothing.
    function collect(uint256 paymentSeed, uint256 tokenSeed, uint256 sigSeed) external {
        vm.warp(currentTime);
        if (_pays.length == 0) return;
        bool byOperator = (sigSeed >> 4) % 3 == 0;
        // Funds that anyone but the operator would count as collectable: the intent's tokens until the late-collect
        // window closes (only the operator may still collect after the expiry).
        (uint256 index, uint256 t) = _findPending(paymentSeed, tokenSeed, sigSeed % 8 == 7 ? 0 : 1, false);
        Pay storage p = _pays[index];
        if ((sigSeed >> 16) % 5 == 0 && block.timestamp <= p.intent.expiry) {
            // A late collect: after the expiry, within the window (the operator may; nobody else).
            _warpTo(uint256(p.intent.expiry) + 1 + (sigSeed >> 24) % lateWindow);
        }
        _collect(p, t, sigSeed % 4 == 0, byOperator ? operator : actors[(sigSeed >> 8) % ACTOR_COUNT]);
        if (p.status == IOpenPayEscrowCommon.Status.Open && (sigSeed >> 40) % 3 == 0) _probeTokens(p, sigSeed);
    }

    /// @dev `caller` collects `daTokens[t]` from the payment's deposit address; checked against the handler's
    /// prediction (the error it must fail with, or what it must record).
    function _collect(Pay storage p, uint256 t, bool emptySignature, address caller) private {
        address token = daTokens[t];
        address depositAddress = p.depositAddress;
        uint256 pending = _pending(p, t);
        bytes4 expected = _collectError(p, t, pending, emptySignature, caller == operator);
        bool late = block.timestamp > p.intent.expiry;
        uint256 heldBefore = _held(token);
        bytes32 paymentBefore = keccak256(abi.encode(escrow.paymentOf(p.intent.paymentId)));

        vm.prank(caller);
        try escrow.collect(p.intent, emptySignature ? bytes("") : p.signature, token) returns (uint256 amount) {
            if (expected != 0) return _fail("a collect that must fail succeeded");
            if (amount != pending) _fail("collect returned another amount than the deposit address held");
        } catch (bytes memory err) {
            if (expected == 0) {
                if (_isTokenError(err)) _tokenChoiceViolation();
                return _failWith("collect", err);
            }
            _expectSelector(err, expected, "collect that must fail");
            if (_balanceOf(token, depositAddress) != pending) _fail("a failed collect moved deposit-address funds");
            if (_held(token) != heldBefore) _fail("a failed collect moved escrow funds");
            if (keccak256(abi.encode(escrow.paymentOf(p.intent.paymentId))) != paymentBefore) {
                _fail("a failed collect changed the payment");
            }
            return _count(bytes32(bytes.concat("collect refused: ", expected)));
        }

        if (!_accepts(p, t)) _tokenChoiceViolation();
        if (_balanceOf(token, depositAddress) != 0) _fail("collect left funds at the deposit address");
        if (keccak256(depositAddress.code) != keccak256(_cloneCode())) {
            _fail("collect did not leave the forwarder's clone at the deposit address");
        }
        p.collected[t] += pending;
        ghostUncollected[token] -= pending;
        bool topUp = p.status == IOpenPayEscrowCommon.Status.Open;
        _recordDeposit(p, uint8(t), depositAddress, pending, _held(token) - heldBefore);
        bytes32 id = p.intent.paymentId;
        if (escrow.depositOf(id, token, depositAddress) != ghostDeposit[id][token][depositAddress]) {
            _fail("depositOf(deposit address) differs after collect");
        }
        if (late) _count(topUp ? bytes32("collect: late top-up") : bytes32("collect: late new payment"));
        else if (!topUp) _count("collect: new payment");
        else _count(emptySignature ? bytes32("collect: top-up, no signature") : bytes32("collect: top-up"));
    }

    /// @notice The operator (or, when the intent names a refund address, anyone) sends back deposits collected from
    /// the deposit address that are refundable (of an expired payment, or in a token that did not pay a paid one); a
    /// refund that cannot be pushed becomes claimable. Calls by a non-operator without a refund address, of zero,
    /// beyond the deposit, to the zero address, or of deposits that are not refundable must fail and change nothing.
    function refundDepositAddress(uint256 paymentSeed, uint256 amountSeed, uint256 toSeed, uint256 callerSeed)
        external
    {
        vm.warp(currentTime);
        if (_pays.length == 0) return;
        (uint256 index, uint8 t) = _findAddressRefundable(paymentSeed);
        if (_pays[index].status == IOpenPayEscrowCommon.Status.Open && amountSeed % 10 > 1) {
            // An open payment with a collected deposit-address deposit: expire it first (refunding the payers the
            // seed lists, and the deposit address's deposit only when the intent names a refund address).
            _expire(index, t, toSeed >> 16, true);
        }
        Pay storage p = _pays[index];
        bytes32 id = p.intent.paymentId;
        address token = tokens[t];
        uint256 deposited = ghostDeposit[id][token][p.depositAddress];
        bool byOperator = callerSeed % 5 != 0;
        address to = _operatorsChoice(toSeed);
        uint256 amount;
        if (amountSeed % 10 == 0) amount = 0;
        else if (amountSeed % 10 == 1 || deposited == 0) amount = deposited + _bound(amountSeed >> 8, 1, 1e20);
        else amount = amountSeed % 3 == 0 ? deposited : _bound(amountSeed >> 8, 1, deposited);
        address receiverAddress = p.intent.refundTo != address(0) ? p.intent.refundTo : to;

        bytes4 expected;
        if (!_refundable(p, t)) expected = IOpenPayEscrowCommon.NotRefundable.selector;
        else if (p.intent.refundTo == address(0) && !byOperator) {
            expected = IAccessControl.AccessControlUnauthorizedAccount.selector;
        } else if (receiverAddress == address(0)) expected = IOpenPayEscrowCommon.ZeroAddress.selector;
        else if (amount == 0) expected = IOpenPayEscrowCommon.ZeroAmount.selector;
        else if (amount > deposited) expected = IOpenPayEscrowCommon.RefundExceedsDeposit.selector;

        if (expected == 0 && token == address(blk) && receiverAddress != sink && (toSeed >> 8) % 4 == 0) {
            blk.setBlacklisted(receiverAddress, true); // the refund must become claimable
        }
        uint256 heldBefore = _held(token);
        uint256 claimableBefore = escrow.claimableOf(token, receiverAddress);
        uint256 receivedBefore = _balanceOf(token, receiverAddress);

        vm.prank(byOperator ? operator : actors[(callerSeed >> 8) % ACTOR_COUNT]);
        try escrow.refundDepositAddress(p.intent, token, to, amount) {
            if (expected != 0) return _fail("a refundDepositAddress that must fail succeeded");
        } catch (bytes memory err) {
            if (expected == 0) return _failWith("refundDepositAddress", err);
            _expectSelector(err, expected, "refundDepositAddress that must fail");
            if (_held(token) != heldBefore) _fail("a failed refundDepositAddress moved funds");
            if (escrow.depositOf(id, token, p.depositAddress) != deposited) _fail("a failed refundDepositAddress changed it");
            return _count(bytes32(bytes.concat("refundDA refused: ", expected)));
        }

        ghostDeposit[id][token][p.depositAddress] = deposited - amount;
        _ghost[token].openDeposits -= amount;
        uint256 claimed = escrow.claimableOf(token, receiverAddress) - claimableBefore;
        if (!_canReceive(token, receiverAddress)) {
            ghostClaimable[token][receiverAddress] += amount;
            _ghost[token].claimableTotal += amount;
            if (claimed != amount) _fail("an unpushable deposit-address refund did not become claimable");
            _count("refundDA: made claimable");
        } else {
            if (_balanceOf(token, receiverAddress) - receivedBefore != amount) {
                _fail("a deposit-address refund did not reach its receiver");
            }
            if (p.status != IOpenPayEscrowCommon.Status.Expired) _count("refundDA: paid, other token");
            else _count(amount == deposited ? bytes32("refundDA: all") : bytes32("refundDA: part"));
        }
        uint256 paidOut = heldBefore - _held(token) + claimed;
        if (paidOut != amount) _fail("refundDepositAddress paid out another amount");
        p.paidOutObserved[t] += paidOut;
        p.addressRefunded[t] += amount;
        if (escrow.depositOf(id, token, p.depositAddress) != deposited - amount) {
            _fail("depositOf(deposit address) differs after refundDepositAddress");
        }
    }

    /// @notice The operator (or, when the intent names a refund address, anyone) returns what a deposit address
    /// holds that can never be collected; a receiver that refuses it (blacklisted, refusing BNB) may claim it from
    /// the escrow instead. Returns of collectable funds (for others than the operator, also the intent's tokens
    /// within the late-collect window), of nothing, or by a non-operator without a refund address must fail and
    /// change nothing.
    function returnStray(uint256 paymentSeed, uint256 tokenSeed, uint256 toSeed, uint256 callerSeed) external {
        vm.warp(currentTime);
        if (_pays.length == 0) return;
        bool byOperator = callerSeed % 5 != 0;
        (uint256 index, uint256 t) = _findPending(paymentSeed, tokenSeed, callerSeed % 8 == 0 ? 0 : 2, byOperator);
        Pay storage p = _pays[index];
        address token = daTokens[t];
        uint256 pending = _pending(p, t);
        address to = _operatorsChoice(toSeed);
        address receiverAddress = p.intent.refundTo != address(0) ? p.intent.refundTo : to;

        bytes4 expected;
        if (_collectable(p, t, byOperator)) expected = IOpenPayEscrowCommon.DepositCollectable.selector;
        else if (p.intent.refundTo == address(0) && !byOperator) {
            expected = IAccessControl.AccessControlUnauthorizedAccount.selector;
        } else if (receiverAddress == address(0)) expected = IOpenPayEscrowCommon.ZeroAddress.selector;
        else if (pending == 0) expected = IOpenPayEscrowCommon.NothingToCollect.selector;
        if (expected == 0 && token == address(blk) && receiverAddress != sink && (toSeed >> 8) % 4 == 0) {
            blk.setBlacklisted(receiverAddress, true); // the stray must become claimable
        }
        // A receiver that refuses the token (blacklisted, or refusing BNB) gets a claim on the escrow instead.
        bool refused = t < TOKEN_COUNT && !_canReceive(token, receiverAddress);
        uint256 heldBefore = _held(token);
        uint256 owedBefore = escrow.ledgerOf(token).owed;
        uint256 claimableBefore = escrow.claimableOf(token, receiverAddress);
        uint256 receivedBefore = _balanceOf(token, receiverAddress);

        vm.prank(byOperator ? operator : actors[(callerSeed >> 8) % ACTOR_COUNT]);
        try escrow.returnStray(p.intent, token, to) returns (uint256 amount) {
            if (expected != 0) return _fail("a returnStray that must fail succeeded");
            if (amount != pending) _fail("returnStray returned another amount than the deposit address held");
        } catch (bytes memory err) {
            if (expected == 0) return _failWith("returnStray", err);
            _expectSelector(err, expected, "returnStray that must fail");
            if (_balanceOf(token, p.depositAddress) != pending) _fail("a failed returnStray moved funds");
            return _count(bytes32(bytes.concat("stray refused: ", expected)));
        }

        if (_balanceOf(token, p.depositAddress) != 0) _fail("returnStray left funds at the deposit address");
        p.returned[t] += pending;
        ghostUncollected[token] -= pending;
        if (refused) {
            if (_held(token) - heldBefore != pending) _fail("a refused stray did not move into the escrow");
            if (escrow.ledgerOf(token).owed - owedBefore != pending) _fail("a refused stray is not owed");
            if (escrow.claimableOf(token, receiverAddress) - claimableBefore != pending) {
                _fail("a refused stray did not become claimable by its receiver");
            }
            ghostClaimable[token][receiverAddress] += pending;
            _ghost[token].claimableTotal += pending;
            return _count("returnStray: made claimable");
        }
        if (_balanceOf(token, receiverAddress) - receivedBefore != pending) {
            _fail("a returned stray did not reach its receiver");
        }
        if (_held(token) != heldBefore) _fail("returnStray moved escrow funds");
        if (t == TOKEN_COUNT) _count("returnStray: junk token");
        else if (!_accepts(p, t)) _count("returnStray: not accepted");
        else if (p.intent.expiry < block.timestamp && _collectable(p, t, false)) _count("stray: operator, in window");
        else if (p.intent.expiry < block.timestamp) _count("returnStray: after expiry");
        else _count("returnStray: after completion");
    }

    /// @notice The admin sets the platform fee (capped at 5%).
    function setFee(uint256 bpsSeed) external {
        uint16 bps = uint16(_bound(bpsSeed, 0, 500));
        escrow.setFee(bps);
        ghostFeeBps = bps;
        _count("setFee");
    }

    /// @notice The admin sets a token's tolerance (capped at 5%).
    function setTolerance(uint256 tokenSeed, uint256 bpsSeed) external {
        uint256 t = tokenSeed % TOKEN_COUNT;
        uint16 bps = uint16(_bound(bpsSeed, 0, 500));
        escrow.setTolerance(tokens[t], bps);
        ghostToleranceBps[t] = bps;
        _count("setTolerance");
    }

    /// @notice The admin sets the time-to-live limit: mostly back to 24 hours, else 1–168 hours; zero or beyond
    /// 168 hours must revert InvalidMaxTtl and change nothing.
    function setMaxTtl(uint256 hoursSeed) external {
        uint256 choice = hoursSeed % 8;
        uint256 hours_ = choice < 4 ? 24 : choice < 7 ? _bound(hoursSeed >> 8, 1, 168) : (hoursSeed >> 8) % 2 == 0
            ? 0
            : _bound(hoursSeed >> 16, 169, 255);
        try escrow.setMaxTtl(uint8(hours_)) {
            if (hours_ == 0 || hours_ > 168) return _fail("setMaxTtl beyond its bounds succeeded");
        } catch (bytes memory err) {
            if (hours_ != 0 && hours_ <= 168) return _failWith("setMaxTtl", err);
            _expectError(
                err,
                abi.encodeWithSelector(IOpenPayEscrowCommon.InvalidMaxTtl.selector, hours_, uint256(168)),
                "setMaxTtl beyond its bounds"
            );
            return _count("setMaxTtl: refused");
        }
        ghostMaxTtlHours = uint8(hours_);
        if (escrow.settings().maxTtlHours != hours_) _fail("settings().maxTtlHours differs");
        for (uint256 i; i < TOKEN_COUNT; ++i) {
            if (escrow.tokenConfigOf(tokens[i]).maxTtlHours != hours_) _fail("a token's copy of maxTtlHours differs");
        }
        _count("setMaxTtl");
    }

    /// @notice Anyone pushes a token's fees to the treasury; with no fees it must revert.
    function withdrawFees(uint256 tokenSeed) external {
        vm.warp(currentTime);
        address token = tokens[tokenSeed % TOKEN_COUNT];
        uint256 fees = _ghost[token].fees;
        uint256 before = _balanceOf(token, treasury);
        try escrow.withdrawFees(token) {
            if (fees == 0) _fail("withdrawFees of nothing succeeded");
        } catch (bytes memory err) {
            if (fees != 0) return _failWith("withdrawFees", err);
            _expectSelector(err, IOpenPayEscrowCommon.NothingToClaim.selector, "withdrawFees of nothing");
            return _count("withdrawFees: none");
        }
        if (_balanceOf(token, treasury) - before != fees) _fail("withdrawFees sent another amount");
        _ghost[token].fees = 0;
        _count("withdrawFees");
    }

    /// @notice Someone sends tokens straight to the escrow, which it does not owe.
    function donate(uint256 tokenSeed, uint256 amountSeed) external {
        uint256 i = tokenSeed % TOKEN_COUNT;
        uint256 amount = _bound(amountSeed, 1, 10 ** _decimals[i] * 100);
        if (tokens[i] == address(0)) vm.deal(address(escrow), address(escrow).balance + amount);
        else TestToken(tokens[i]).mint(address(escrow), amount);
        _ghost[tokens[i]].donated += amount;
        _count("donate");
    }

    /// @notice The admin rescues part of the surplus; asking for more than the surplus (anything owed) must revert.
    function rescue(uint256 tokenSeed, uint256 amountSeed, bool tooMuch) external {
        address token = tokens[tokenSeed % TOKEN_COUNT];
        uint256 surplus = _ghost[token].donated;
        if (tooMuch || surplus == 0) {
            uint256 excessive = surplus + _bound(amountSeed, 1, 1e30);
            try escrow.rescue(token, sink, excessive) {
                _fail("rescue beyond the surplus succeeded");
            } catch (bytes memory err) {
                _expectSelector(err, IOpenPayEscrowCommon.RescueExceedsSurplus.selector, "rescue beyond the surplus");
            }
            return _count("rescue: too much");
        }
        uint256 amount = _bound(amountSeed, 1, surplus);
        uint256 before = _balanceOf(token, sink);
        try escrow.rescue(token, sink, amount) {} catch (bytes memory err) {
            return _failWith("rescue", err);
        }
        if (_balanceOf(token, sink) - before != amount) _fail("rescue sent another amount");
        _ghost[token].donated -= amount;
        _count("rescue");
    }

    // ---------------------------------------------------------------------------------------------
    // Views for the invariants
    // ---------------------------------------------------------------------------------------------

    function outcomeCount() external view returns (uint256) {
        return outcomeNames.length;
    }

    function tokenCount() external pure returns (uint256) {
        return TOKEN_COUNT;
    }

    function merchantCount() external pure returns (uint256) {
        return MERCHANT_COUNT;
    }

    function actorCount() external pure returns (uint256) {
        return ACTOR_COUNT;
    }

    function ghost(address token) external view returns (Ghost memory) {
        return _ghost[token];
    }

    /// @notice What the escrow should owe in `token` by the ghost accounts.
    function ghostOwed(address token) external view returns (uint256 owed) {
        Ghost memory g = _ghost[token];
        owed = g.openDeposits + g.claimableTotal + g.fees;
        for (uint256 m; m < MERCHANT_COUNT; ++m) owed += ghostBalance[merchants[m]][token];
    }

    function held(address token) external view returns (uint256) {
        return _held(token);
    }

    function paymentCount() external view returns (uint256) {
        return _pays.length;
    }

    function payment(uint256 index) external view returns (Pay memory) {
        return _pays[index];
    }

    function summary(uint256 index) external view returns (Summary memory) {
        Pay storage p = _pays[index];
        return Summary({
            paymentId: p.intent.paymentId,
            acceptedTokens: p.intent.acceptedTokens,
            amountUsd: p.intent.amountUsd,
            tokenIndex: p.tokenIndex,
            amount: p.amount,
            tokensUsed: p.tokensUsed,
            completedUsd: p.completedUsd,
            completedToleranceBps: p.completedToleranceBps,
            payers: p.payers
        });
    }

    function totals(uint256 index) external view returns (Totals memory) {
        Pay storage p = _pays[index];
        return Totals({
            amounts: p.amounts,
            depositedObserved: p.depositedObserved,
            paidOutObserved: p.paidOutObserved,
            sent: p.sent,
            collected: p.collected,
            returned: p.returned,
            addressRefunded: p.addressRefunded
        });
    }

    /// @notice Every payment's deposit address, by payment index.
    function depositAddresses() external view returns (address[] memory addresses) {
        addresses = new address[](_pays.length);
        for (uint256 i; i < addresses.length; ++i) addresses[i] = _pays[i].depositAddress;
    }

    function daTokenCount() external pure returns (uint256) {
        return DA_TOKEN_COUNT;
    }

    function balanceAt(address token, address account) external view returns (uint256) {
        return _balanceOf(token, account);
    }

    /// @notice The deposit-address part of a payment's record (cheaper to read than `payment`).
    function depositAddressLedger(uint256 index) external view returns (DepositAddressLedger memory ledger) {
        Pay storage p = _pays[index];
        ledger = DepositAddressLedger({
            paymentId: p.intent.paymentId,
            depositAddress: p.depositAddress,
            acceptedTokens: p.intent.acceptedTokens,
            sent: p.sent,
            collected: p.collected,
            returned: p.returned,
            refunded: p.addressRefunded
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Paying
    // ---------------------------------------------------------------------------------------------

    /// @dev A new intent: a random non-empty subset of the tokens (sometimes with bits of unregistered indices set
    /// too), an expiry within the time-to-live limit, or in one case out of eight up to six hours beyond it.
    function _newPayment(uint256 paymentSeed, uint256 tokenSeed, uint256 sizeSeed) private returns (uint256 index) {
        uint8 m = uint8((paymentSeed >> 8) % MERCHANT_COUNT);
        uint256 amountUsd = _bound(uint256(keccak256(abi.encode(sizeSeed, _pays.length))), 1e16, 5_000e18);
        uint256 maxTtl = uint256(ghostMaxTtlHours) * 1 hours;
        uint256 ttl = (paymentSeed >> 16) % 8 == 0
            ? _bound(paymentSeed >> 20, maxTtl + 1, maxTtl + 6 hours)
            : _bound(paymentSeed >> 20, maxTtl < 10 minutes ? maxTtl : 10 minutes, maxTtl);
        address refundTo = (paymentSeed >> 96) % 4 == 0 ? actors[(paymentSeed >> 104) % ACTOR_COUNT] : address(0);
        uint256 subset = 1 + (paymentSeed >> 128) % 7;
        uint256 acceptedTokens;
        for (uint256 i; i < TOKEN_COUNT; ++i) {
            if ((subset >> i) & 1 == 1) acceptedTokens |= uint256(1) << escrowIndex[i];
        }
        if ((paymentSeed >> 136) % 6 == 0) acceptedTokens |= 1 | (uint256(1) << (4 + (paymentSeed >> 144) % 252));
        index = _pays.length;
        Pay storage p = _pays.push();
        p.intent = IOpenPayEscrowCommon.PaymentIntent({
            paymentId: bytes32(abi.encodePacked(merchants[m], uint96(index))),
            merchant: merchants[m],
            amountUsd: amountUsd,
            expiry: uint64(block.timestamp + ttl),
            refundTo: refundTo,
            acceptedTokens: acceptedTokens
        });
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(_signerKeys[m], escrow.hashIntent(p.intent));
        p.signature = abi.encodePacked(r, s, v);
        p.tokenIndex = _depositToken(p, tokenSeed);
        p.merchantIndex = m;

        // The deposit address: the CREATE2 address of the forwarder's proxy salted with the intent's digest, computed
        // here independently of the escrow, and distinct from every other payment's.
        address depositAddress = escrow.depositAddressOf(p.intent);
        p.depositAddress = depositAddress;
        if (depositAddress != _predictedDepositAddress(escrow.hashIntent(p.intent))) {
            _fail("depositAddressOf is not the CREATE2 address of the clone");
        }
        if (depositAddress.code.length != 0) _fail("a new payment's deposit address has code");
        for (uint256 i; i < index; ++i) {
            if (_pays[i].depositAddress == depositAddress) _fail("two payments share a deposit address");
        }
    }

    /// @dev USD still due in token t: the amount less what was received in t, at today's price.
    function _due(Pay storage p, uint256 t) private view returns (uint256) {
        uint256 worth = _usdOf(t, p.amounts[t]);
        return p.intent.amountUsd > worth ? p.intent.amountUsd - worth : p.intent.amountUsd;
    }

    /// @dev Token units of token `i` worth `remaining` USD (mode 0), 1–95% of it (1), or 101–200% (2); at least 1.
    function _amountFor(uint256 i, uint256 remaining, uint256 mode, uint256 sizeSeed)
        private
        view
        returns (uint256 amount)
    {
        uint256 targetUsd;
        if (mode == 0) targetUsd = remaining;
        else if (mode == 1) targetUsd = remaining * _bound(sizeSeed, 1, 95) / 100;
        else targetUsd = remaining * _bound(sizeSeed, 101, 200) / 100;
        amount = _tokensFor(i, targetUsd);
        if (amount == 0) amount = 1;
    }

    function _deposit(Pay storage p, uint8 t, address payer, address beneficiary, uint256 amount) private {
        address token = tokens[t];
        uint256 heldBefore = _held(token);

        if (!_payAs(payer, beneficiary, p, t, amount)) return;

        _recordDeposit(p, t, beneficiary == address(0) ? payer : beneficiary, amount, _held(token) - heldBefore);
    }

    /// @dev The ghost side of a deposit in token `t` that succeeded (paid directly, or collected with the deposit
    /// address as payer), recorded for `payer`: `arrived` is what the escrow's balance grew by. Each token adds up
    /// apart; the first to reach amount × (1 − its tolerance) at today's price pays the payment.
    function _recordDeposit(Pay storage p, uint8 t, address payer, uint256 amount, uint256 arrived) private {
        address token = tokens[t];
        bytes32 id = p.intent.paymentId;
        if (!_accepts(p, t)) _tokenChoiceViolation();
        if (arrived != amount) _fail("deposit moved another amount");
        bool first = p.status == IOpenPayEscrowCommon.Status.None;
        if (first) p.tokenIndex = t;
        uint256 earlier = p.amounts[t];
        uint256 total = earlier + amount;
        // Everything received in this token is valued again at today's price (docs/contracts.md, "Valuation").
        uint256 receivedUsd = _usdOf(t, total);
        bool completes = receivedUsd * BPS >= p.intent.amountUsd * (BPS - ghostToleranceBps[t]);
        p.depositedObserved[t] += arrived;
        p.amounts[t] = total;
        p.tokensUsed |= 1 << t;
        if (!_isPayer[id][payer]) {
            _isPayer[id][payer] = true;
            p.payers.push(payer);
        }
        if (completes) {
            uint256 fee = total * ghostFeeBps / BPS;
            ghostBalance[merchants[p.merchantIndex]][token] += total - fee;
            _ghost[token].fees += fee;
            // This token's earlier deposits are the merchant's now; the other tokens' stay refundable.
            _ghost[token].openDeposits -= earlier;
            for (uint256 i; i < p.payers.length; ++i) ghostDeposit[id][token][p.payers[i]] = 0;
            bool otherToken = t != p.tokenIndex;
            p.status = IOpenPayEscrowCommon.Status.Completed;
            p.tokenIndex = t;
            p.amount = total;
            p.receivedUsd = receivedUsd;
            p.completedUsd = receivedUsd;
            p.completedToleranceBps = ghostToleranceBps[t];
            if (otherToken) _count("pay: completed in another token");
            else _count(earlier == 0 ? bytes32("pay: completed at once") : bytes32("pay: completed by top-up"));
        } else {
            ghostDeposit[id][token][payer] += amount;
            _ghost[token].openDeposits += amount;
            p.status = IOpenPayEscrowCommon.Status.Open;
            if (t == p.tokenIndex) {
                p.amount = total;
                p.receivedUsd = receivedUsd;
            }
            if (first) _count("pay: opened (underpaid)");
            else _count(t == p.tokenIndex ? bytes32("pay: topped up, still open") : bytes32("pay: other token, still open"));
        }
        _checkPayment(p);
    }

    /// @dev A deposit in token `t` that must revert with `reason` (the whole error when longer than a selector) and
    /// change nothing.
    function _payMustFail(Pay storage p, address payer, address beneficiary, uint8 t, uint256 amount, bytes memory reason)
        private
    {
        address token = tokens[t];
        uint256 heldBefore = _held(token);
        IOpenPayEscrowCommon.Payment memory before = escrow.paymentOf(p.intent.paymentId);
        (bool ok, bytes memory err) = _tryPayAs(payer, beneficiary, p, t, amount);
        bytes4 selector = bytes4(reason);
        if (ok) {
            if (selector == IOpenPayEscrowCommon.TokenNotAccepted.selector) _tokenChoiceViolation();
            return _fail("a deposit that must fail succeeded");
        }
        if (reason.length == 4) _expectSelector(err, selector, "deposit that must fail");
        else _expectError(err, reason, "deposit that must fail");
        if (_held(token) != heldBefore) _fail("a failed deposit moved tokens");
        if (keccak256(abi.encode(escrow.paymentOf(p.intent.paymentId))) != keccak256(abi.encode(before))) {
            _fail("a failed deposit changed the payment");
        }
        _count(bytes32(bytes.concat("pay refused: ", selector)));
    }

    function _payAs(address payer, address beneficiary, Pay storage p, uint8 t, uint256 amount) private returns (bool ok) {
        bytes memory err;
        (ok, err) = _tryPayAs(payer, beneficiary, p, t, amount);
        if (ok) return true;
        if (_isTokenError(err)) _tokenChoiceViolation();
        _failWith("pay", err);
    }

    /// @dev Funds `payer`, approves and pays token `t` for `beneficiary`, as an EOA (prank) or through the
    /// RevertingReceiver's relay.
    function _tryPayAs(address payer, address beneficiary, Pay storage p, uint8 t, uint256 amount)
        private
        returns (bool ok, bytes memory err)
    {
        address token = tokens[t];
        bytes memory call;
        uint256 value;
        if (token == address(0)) {
            call = abi.encodeCall(IOpenPayEscrowPayments.payNative, (p.intent, p.signature, beneficiary));
            value = amount;
            if (payer == address(receiver)) vm.deal(address(this), address(this).balance + amount);
            else vm.deal(payer, payer.balance + amount);
        } else {
            call = abi.encodeCall(IOpenPayEscrowPayments.pay, (p.intent, p.signature, token, amount, beneficiary));
            bool wasBlacklisted = token == address(blk) && blk.blacklisted(payer);
            if (wasBlacklisted) blk.setBlacklisted(payer, false); // so that it can be funded
            TestToken(token).mint(payer, amount);
            _callAs(payer, abi.encodeCall(IERC20.approve, (address(escrow), amount)), token, 0);
            if (wasBlacklisted) blk.setBlacklisted(payer, true);
        }
        return _tryCallAs(payer, call, address(escrow), value);
    }

    /// @dev Who a direct deposit names as beneficiary: mostly nobody (the payer), else an actor, rarely the escrow
    /// (which must be refused).
    function _beneficiary(uint256 seed) private view returns (address) {
        uint256 choice = seed % 8;
        if (choice < 4) return address(0);
        if (choice == 7 && (seed >> 8) % 4 == 0) return address(escrow);
        return actors[(seed >> 16) % ACTOR_COUNT];
    }

    /// @dev A third party's deposit in each token, rolled back: an open payment before its expiry must take it in
    /// every token its intent accepts, each into its own slot (the record's token and amount unchanged unless the
    /// deposit is in the record's token or completes the payment), and refuse it in every other with
    /// TokenNotAccepted.
    function _probeTokens(Pay storage p, uint256 amountSeed) private {
        if (p.status != IOpenPayEscrowCommon.Status.Open || block.timestamp > p.intent.expiry) return;
        IOpenPayEscrowCommon.Payment memory before = escrow.paymentOf(p.intent.paymentId);
        for (uint8 t; t < TOKEN_COUNT; ++t) {
            address token = tokens[t];
            uint256 amount = _bound(amountSeed >> (8 * t), 1, 1000);
            if (token == address(0)) vm.deal(address(this), address(this).balance + amount);
            bytes memory result;
            try prober.probe{value: token == address(0) ? amount : 0}(escrow, p.intent, p.signature, token, amount) {
                _fail("the prober did not revert");
                continue;
            } catch (bytes memory data) {
                result = data;
            }
            if (bytes4(result) != DepositProber.ProbeResult.selector) {
                _failWith("probe", result);
                continue;
            }
            (bool ok, bytes memory err, IOpenPayEscrowCommon.Payment memory afterwards, uint256 deposit) =
                abi.decode(_withoutSelector(result), (bool, bytes, IOpenPayEscrowCommon.Payment, uint256));
            if (!_accepts(p, t)) {
                if (ok) {
                    _tokenChoiceViolation();
                    _fail("an open payment took a deposit in a token its intent does not accept");
                } else {
                    bytes memory reason = abi.encodeWithSelector(
                        IOpenPayEscrowCommon.TokenNotAccepted.selector, p.intent.paymentId, token, p.intent.acceptedTokens
                    );
                    _expectError(err, reason, "a deposit in a token the intent does not accept");
                }
                continue;
            }
            if (!ok) {
                _tokenChoiceViolation();
                _failWith("an open payment refused a deposit in a token its intent accepts", err);
                continue;
            }
            if (afterwards.status == IOpenPayEscrowCommon.Status.Completed) {
                if (afterwards.tokenIndex != escrowIndex[t]) _fail("a probe completed the payment in another token");
                continue;
            }
            if (afterwards.status != IOpenPayEscrowCommon.Status.Open) _fail("a probe left it neither open nor paid");
            if (afterwards.tokenIndex != before.tokenIndex) _fail("a deposit in another token changed the record's token");
            if (escrowIndex[t] != before.tokenIndex && afterwards.amount != before.amount) {
                _fail("a deposit in another token changed the record's amount");
            }
            if (deposit != amount) _fail("a third party's deposit is not refundable to it");
        }
        _count("probe tokens");
    }

    // ---------------------------------------------------------------------------------------------
    // Refunds and checks
    // ---------------------------------------------------------------------------------------------

    /// @dev The ghost side of refunding the listed payers' deposits in token t; returns the total refunded.
    function _ghostRefund(Pay storage p, uint8 t, address[] memory listed)
        private
        returns (uint256 total, uint256[ACTOR_COUNT] memory pushed)
    {
        address token = tokens[t];
        bytes32 id = p.intent.paymentId;
        for (uint256 i; i < listed.length; ++i) {
            uint256 amount = ghostDeposit[id][token][listed[i]];
            if (amount == 0) continue;
            if (listed[i] == p.depositAddress) {
                // Without a refund address the escrow keeps it for refundDepositAddress (a plain transfer does not
                // say who sent it); with one, it goes there like any deposit.
                if (p.intent.refundTo == address(0)) {
                    _count("expire: deposit address kept");
                    continue;
                }
                p.addressRefunded[t] += amount;
                _count("expire: deposit address refunded");
            }
            ghostDeposit[id][token][listed[i]] = 0;
            _ghost[token].openDeposits -= amount;
            total += amount;
            address to = p.intent.refundTo == address(0) ? listed[i] : p.intent.refundTo;
            if (!_canReceive(token, to)) {
                ghostClaimable[token][to] += amount;
                _ghost[token].claimableTotal += amount;
                _count("expire: refund made claimable");
            } else {
                pushed[_actorIndex(to)] += amount;
            }
        }
    }

    /// @dev A subset of the payment's payers (by bit mask), sometimes repeated, sometimes with a non-payer.
    function _listPayers(Pay storage p, uint256 mask) private view returns (address[] memory listed) {
        uint256 n = p.payers.length;
        listed = new address[](n + 2);
        uint256 count;
        for (uint256 i; i < n; ++i) {
            if ((mask >> i) & 1 == 1) listed[count++] = p.payers[i];
        }
        if (count != 0 && (mask >> 32) % 4 == 0) listed[count++] = listed[0]; // a payer listed twice
        if ((mask >> 40) % 4 == 0) listed[count++] = actors[(mask >> 48) % ACTOR_COUNT]; // maybe not a payer
        assembly ("memory-safe") {
            mstore(listed, count)
        }
    }

    /// @dev Compares the escrow's record of a payment with the handler's.
    function _checkPayment(Pay storage p) private {
        IOpenPayEscrowCommon.Payment memory stored = escrow.paymentOf(p.intent.paymentId);
        if (stored.status != p.status) _fail("payment status differs from the tolerance rule");
        if (stored.tokenIndex != escrowIndex[p.tokenIndex]) _fail("payment token differs");
        if (stored.amount != p.amount) _fail("payment amount differs");
        if (stored.receivedUsd != p.receivedUsd) _fail("payment receivedUsd differs from the independent valuation");
        if (escrow.refundedOf(p.intent.paymentId) != p.merchantRefunded) _fail("refundedOf differs");
        uint256 remaining = escrow.remainingUsd(p.intent);
        // What the record's token received, at today's price (zero past the expiry too: a late collect by the
        // operator can leave a payment open then).
        uint256 expected;
        if (p.status == IOpenPayEscrowCommon.Status.Open && block.timestamp <= p.intent.expiry) {
            uint256 worth = _usdOf(p.tokenIndex, p.amount);
            if (worth < p.intent.amountUsd) expected = p.intent.amountUsd - worth;
        }
        if (remaining != expected) _fail("remainingUsd differs");
    }

    // ---------------------------------------------------------------------------------------------
    // Tokens of an intent
    // ---------------------------------------------------------------------------------------------

    /// @dev Whether the intent accepts token t (never `junk`, which the escrow does not allow).
    function _accepts(Pay storage p, uint256 t) private view returns (bool) {
        return t < TOKEN_COUNT && (p.intent.acceptedTokens >> escrowIndex[t]) & 1 == 1;
    }

    /// @dev A token for a deposit into the payment, one its intent accepts: for an open payment, the record's token
    /// one time in three, else another of its tokens if it has one; for a new payment any, searching from the seed.
    function _depositToken(Pay storage p, uint256 seed) private view returns (uint8) {
        bool open = p.status == IOpenPayEscrowCommon.Status.Open;
        if (open && seed % 3 == 0) return p.tokenIndex;
        for (uint256 k; k < TOKEN_COUNT; ++k) {
            uint8 t = uint8(((seed >> 2) % TOKEN_COUNT + k) % TOKEN_COUNT);
            if (_accepts(p, t) && !(open && t == p.tokenIndex)) return t;
        }
        return p.tokenIndex; // an open payment whose intent accepts its record's token only
    }

    /// @dev A token the payment's intent does not accept, searching from the seed, if any.
    function _tokenNotAccepted(Pay storage p, uint256 seed) private view returns (bool, uint8) {
        for (uint256 k; k < TOKEN_COUNT; ++k) {
            uint8 t = uint8((seed % TOKEN_COUNT + k) % TOKEN_COUNT);
            if (!_accepts(p, t)) return (true, t);
        }
        return (false, 0);
    }

    /// @dev Whether the intent's expiry is beyond the time-to-live limit now (a first deposit must wait).
    function _tooFar(Pay storage p) private view returns (bool) {
        return p.intent.expiry > block.timestamp + uint256(ghostMaxTtlHours) * 1 hours;
    }

    /// @dev Whether the payment's deposits in token t can be refunded now: it expired, or it was paid in another
    /// token and holds deposits in more than one.
    function _refundable(Pay storage p, uint256 t) private view returns (bool) {
        IOpenPayEscrowCommon.Status s = p.status;
        if (s == IOpenPayEscrowCommon.Status.Expired) return true;
        if (s == IOpenPayEscrowCommon.Status.None || s == IOpenPayEscrowCommon.Status.Open) return false;
        return t != p.tokenIndex && p.tokensUsed != (1 << p.tokenIndex);
    }

    /// @dev Whether the deposit address holds a token the intent accepts.
    function _acceptedTokenPending(Pay storage p) private view returns (bool) {
        for (uint256 t; t < TOKEN_COUNT; ++t) {
            if (_accepts(p, t) && _pending(p, t) != 0) return true;
        }
        return false;
    }

    /// @dev Whether the deposit address holds enough of a token the intent accepts to complete the open payment, with
    /// what the payment received in that token, at today's price and within the token's tolerance (the late-collect
    /// rule of `expire`, by the handler's own arithmetic).
    function _completingTokenPending(Pay storage p) private view returns (bool) {
        for (uint256 t; t < TOKEN_COUNT; ++t) {
            uint256 pending = _pending(p, t);
            if (!_accepts(p, t) || pending == 0) continue;
            uint256 receivedUsd = _usdOf(t, p.amounts[t] + pending);
            if (receivedUsd * BPS >= p.intent.amountUsd * (BPS - ghostToleranceBps[t])) return true;
        }
        return false;
    }

    /// @dev Whether a revert is about the token (refused as not allowed or not accepted).
    function _isTokenError(bytes memory err) private pure returns (bool) {
        if (err.length < 4) return false;
        bytes4 selector = bytes4(err);
        return selector == IOpenPayEscrowCommon.TokenNotAccepted.selector
            || selector == IOpenPayEscrowCommon.TokenNotAllowed.selector;
    }

    function _tokenChoiceViolation() private {
        ++tokenChoiceViolations;
        _fail("a payment's tokens are not exactly its intent's");
    }

    // ---------------------------------------------------------------------------------------------
    // Deposit-address helpers
    // ---------------------------------------------------------------------------------------------

    /// @dev A plain transfer of `amount` of `daTokens[t]` from `sender` to the payment's deposit address (a mint
    /// straight there when the sender is blacklisted: an exchange's withdrawal).
    function _sendToAddress(Pay storage p, uint256 t, address sender, uint256 amount) private {
        address token = daTokens[t];
        address depositAddress = p.depositAddress;
        uint256 before = _balanceOf(token, depositAddress);
        if (token == address(0)) {
            if (sender == address(receiver)) vm.deal(address(this), address(this).balance + amount);
            else vm.deal(sender, sender.balance + amount);
            _callAs(sender, "", depositAddress, amount);
        } else if (token == address(blk) && blk.blacklisted(sender)) {
            blk.mint(depositAddress, amount);
        } else {
            TestToken(token).mint(sender, amount);
            _callAs(sender, abi.encodeCall(IERC20.transfer, (depositAddress, amount)), token, 0);
        }
        if (_balanceOf(token, depositAddress) - before != amount) _fail("a transfer to a deposit address went missing");
        p.sent[t] += amount;
        ghostUncollected[token] += amount;
    }

    /// @dev Units of `daTokens[t]` waiting at the payment's deposit address, by the handler's count.
    function _pending(Pay storage p, uint256 t) private view returns (uint256) {
        return p.sent[t] - p.collected[t] - p.returned[t];
    }

    /// @dev Whether `collect` could still take `daTokens[t]` from the deposit address into the payment, as
    /// returnStray must judge it for the operator (`byOperator`) or anyone else (the handler's own rule): a token the
    /// intent accepts, no deposit yet or an open payment (in any of its tokens), and before the expiry; for anyone
    /// but the operator also within the late-collect window after it (the operator may still collect then, or
    /// choose to return). With no deposit yet and an expiry beyond the time-to-live limit nothing can be collected
    /// now, so what waits goes back rather than wait up to the expiry.
    function _collectable(Pay storage p, uint256 t, bool byOperator) private view returns (bool) {
        uint256 until = uint256(p.intent.expiry) + (byOperator ? 0 : lateWindow);
        if (!_accepts(p, t) || block.timestamp > until) return false;
        if (p.status == IOpenPayEscrowCommon.Status.None) return !_tooFar(p);
        return p.status == IOpenPayEscrowCommon.Status.Open;
    }

    /// @dev The error `collect` must revert with, or zero if it must succeed.
    function _collectError(Pay storage p, uint256 t, uint256 pending, bool emptySignature, bool byOperator)
        private
        view
        returns (bytes4)
    {
        if (t >= TOKEN_COUNT) return IOpenPayEscrowCommon.TokenNotAllowed.selector;
        if (pending == 0) return IOpenPayEscrowCommon.NothingToCollect.selector;
        if (!_accepts(p, t)) return IOpenPayEscrowCommon.TokenNotAccepted.selector;
        IOpenPayEscrowCommon.Status status = p.status;
        if (status != IOpenPayEscrowCommon.Status.None && status != IOpenPayEscrowCommon.Status.Open) {
            return IOpenPayEscrowCommon.InvalidPaymentStatus.selector;
        }
        uint256 deadline = p.intent.expiry;
        if (block.timestamp > deadline && byOperator) deadline += lateWindow;
        if (block.timestamp > deadline) return IOpenPayEscrowCommon.DepositAfterExpiry.selector;
        if (status == IOpenPayEscrowCommon.Status.None) {
            if (_tooFar(p)) return IOpenPayEscrowCommon.ExpiryTooFar.selector;
            if (emptySignature) return IOpenPayEscrowCommon.InvalidSignature.selector;
        }
        return 0;
    }

    /// @dev A payment and token with funds waiting at its deposit address, searching from the seeds: funds that
    /// `collect` could take (`filter` 1), funds it never can (2), or any (0, and the fallback of 1 and 2); else the
    /// seeds' own choice.
    function _findPending(uint256 paymentSeed, uint256 tokenSeed, uint256 filter, bool byOperator)
        private
        view
        returns (uint256, uint256)
    {
        uint256 n = _pays.length;
        for (uint256 k; k < n; ++k) {
            uint256 i = (paymentSeed % n + k) % n;
            Pay storage p = _pays[i];
            for (uint256 j; j < DA_TOKEN_COUNT; ++j) {
                uint256 t = (tokenSeed % DA_TOKEN_COUNT + j) % DA_TOKEN_COUNT;
                if (_pending(p, t) == 0) continue;
                if (filter == 0 || (filter == 1) == _collectable(p, t, byOperator)) return (i, t);
            }
        }
        if (filter == 0) return (paymentSeed % n, tokenSeed % DA_TOKEN_COUNT);
        return _findPending(paymentSeed, tokenSeed, 0, byOperator);
    }

    /// @dev A payment that can still take deposits (no deposit yet, or open, before its expiry), else any.
    function _payablePayment(uint256 seed) private view returns (uint256) {
        uint256 n = _pays.length;
        for (uint256 k; k < n; ++k) {
            uint256 i = (seed % n + k) % n;
            IOpenPayEscrowCommon.Status s = _pays[i].status;
            bool payable_ = s == IOpenPayEscrowCommon.Status.None || s == IOpenPayEscrowCommon.Status.Open;
            if (payable_ && block.timestamp <= _pays[i].intent.expiry) return i;
        }
        return seed % n;
    }

    /// @dev A payment and token with collected deposit-address deposits left to refund (expired, or paid in another
    /// token), else an open payment with such a deposit, else the seed's choice.
    function _findAddressRefundable(uint256 seed) private view returns (uint256, uint8) {
        uint256 n = _pays.length;
        uint256 open = type(uint256).max;
        uint8 openToken;
        for (uint256 k; k < n; ++k) {
            uint256 i = (seed % n + k) % n;
            Pay storage p = _pays[i];
            for (uint256 j; j < TOKEN_COUNT; ++j) {
                uint8 t = uint8(((seed >> 8) % TOKEN_COUNT + j) % TOKEN_COUNT);
                if (ghostDeposit[p.intent.paymentId][tokens[t]][p.depositAddress] == 0) continue;
                if (_refundable(p, t)) return (i, t);
                if (open == type(uint256).max && p.status == IOpenPayEscrowCommon.Status.Open) (open, openToken) = (i, t);
            }
        }
        if (open != type(uint256).max) return (open, openToken);
        return (seed % n, uint8((seed >> 8) % TOKEN_COUNT));
    }

    /// @dev The receiver an operator names: none (which must be refused), the sink, or an actor.
    function _operatorsChoice(uint256 seed) private view returns (address) {
        if (seed % 7 == 0) return address(0);
        if (seed % 7 == 1) return sink;
        return actors[seed % ACTOR_COUNT];
    }

    /// @dev Runtime code of the deposit-address proxy of the escrow's forwarder implementation (DepositAddressClone).
    function _cloneCode() private view returns (bytes memory) {
        return abi.encodePacked(
            hex"3d3d3615602f573d3d363d3d37363d73", escrow.FORWARDER_IMPLEMENTATION(), hex"5af43d3d93803e602f57fd5bf3"
        );
    }

    /// @dev CREATE2 address, deployer the escrow, of that clone salted with `digest`.
    function _predictedDepositAddress(bytes32 digest) private view returns (address) {
        bytes32 initCodeHash = keccak256(abi.encodePacked(hex"3d603180600a3d3981f3", _cloneCode()));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(escrow), digest, initCodeHash)))));
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------

    function _warpTo(uint256 time) private {
        currentTime = time;
        vm.warp(time);
        for (uint256 i; i < TOKEN_COUNT; ++i) feeds[i].updateAnswer(feeds[i].latestAnswer());
    }

    /// @dev A payment `expire` may be asked about, searching from `seed`: mostly one with something to refund or
    /// expire (open, expired, or paid with deposits in another token), in one case out of eight any payment (which
    /// may have no record, or have been paid in one token only: NotRefundable). Assumes a payment exists.
    function _findExpirable(uint256 seed) private view returns (uint256) {
        uint256 n = _pays.length;
        if ((seed >> 200) % 8 == 0) return seed % n;
        for (uint256 k; k < n; ++k) {
            uint256 i = (seed % n + k) % n;
            Pay storage p = _pays[i];
            IOpenPayEscrowCommon.Status s = p.status;
            if (s == IOpenPayEscrowCommon.Status.Open || s == IOpenPayEscrowCommon.Status.Expired) return i;
            if (s != IOpenPayEscrowCommon.Status.None && p.tokensUsed != (1 << p.tokenIndex)) return i;
        }
        return seed % n;
    }

    /// @dev A token in which the payment holds refundable deposits (in a paid payment, not the one that paid it),
    /// searching from the seed; in one case out of eight, or if none, the seed's own choice.
    function _tokenWithDeposits(Pay storage p, uint256 seed) private view returns (uint8) {
        uint8 choice = uint8(seed % TOKEN_COUNT);
        if ((seed >> 8) % 8 == 0) return choice;
        for (uint256 k; k < TOKEN_COUNT; ++k) {
            uint8 t = uint8((choice + k) % TOKEN_COUNT);
            for (uint256 i; i < p.payers.length; ++i) {
                if (ghostDeposit[p.intent.paymentId][tokens[t]][p.payers[i]] != 0) return t;
            }
        }
        return choice;
    }

    /// @dev A paid payment the merchant can still refund (Completed or PartiallyRefunded), searching from `seed`;
    /// type(uint256).max if none.
    function _findPaid(uint256 seed) private view returns (uint256) {
        uint256 n = _pays.length;
        for (uint256 k; k < n; ++k) {
            uint256 i = (seed % n + k) % n;
            IOpenPayEscrowCommon.Status s = _pays[i].status;
            if (s == IOpenPayEscrowCommon.Status.Completed || s == IOpenPayEscrowCommon.Status.PartiallyRefunded) {
                return i;
            }
        }
        return type(uint256).max;
    }

    /// @dev An Open payment to top up (possibly past its expiry), or none.
    function _openPayment(uint256 seed) private view returns (uint256) {
        uint256 n = _pays.length;
        for (uint256 k; k < n; ++k) {
            uint256 i = (seed % n + k) % n;
            if (_pays[i].status == IOpenPayEscrowCommon.Status.Open) return i;
        }
        return type(uint256).max;
    }

    function _findClaimant(uint256 actorSeed, uint256 tokenSeed) private view returns (address, uint256) {
        for (uint256 k; k < ACTOR_COUNT * TOKEN_COUNT; ++k) {
            address account = actors[(actorSeed % ACTOR_COUNT + k) % ACTOR_COUNT];
            uint256 t = (tokenSeed % TOKEN_COUNT + k / ACTOR_COUNT) % TOKEN_COUNT;
            if (ghostClaimable[tokens[t]][account] != 0) return (account, t);
        }
        return (address(0), 0);
    }

    function _callAs(address account, bytes memory data) private returns (bool ok) {
        (ok,) = _tryCallAs(account, data, address(escrow), 0);
    }

    function _callAs(address account, bytes memory data, address target, uint256 value) private {
        (bool ok, bytes memory err) = _tryCallAs(account, data, target, value);
        if (!ok) _failWith("setup call", err);
    }

    /// @dev Calls `target` as `account`: pranked for an EOA, relayed for the RevertingReceiver.
    function _tryCallAs(address account, bytes memory data, address target, uint256 value)
        private
        returns (bool ok, bytes memory result)
    {
        if (account == address(receiver)) {
            try receiver.relay{value: value}(target, data) returns (bytes memory r) {
                return (true, r);
            } catch (bytes memory err) {
                return (false, err);
            }
        }
        vm.prank(account);
        (ok, result) = target.call{value: value}(data);
    }

    function _canReceive(address token, address to) private view returns (bool) {
        if (token == address(0)) return to != address(receiver);
        if (token == address(blk)) return !blk.blacklisted(to);
        return true;
    }

    function _balanceOf(address token, address account) private view returns (uint256) {
        return token == address(0) ? account.balance : IERC20(token).balanceOf(account);
    }

    function _held(address token) private view returns (uint256) {
        return _balanceOf(token, address(escrow));
    }

    function _actorBalances(address token) private view returns (uint256[ACTOR_COUNT] memory balances) {
        for (uint256 i; i < ACTOR_COUNT; ++i) balances[i] = _balanceOf(token, actors[i]);
    }

    function _actorIndex(address account) private view returns (uint256) {
        for (uint256 i; i < ACTOR_COUNT; ++i) {
            if (actors[i] == account) return i;
        }
        revert("not an actor");
    }

    function _claimableOfActors(address token) private view returns (uint256 total) {
        for (uint256 i; i < ACTOR_COUNT; ++i) total += escrow.claimableOf(token, actors[i]);
    }

    function _price(uint256 i) private view returns (uint256) {
        return uint256(feeds[i].latestAnswer());
    }

    /// @dev Independent valuation: floor(amount × price × 10^18 / 10^(decimals + feedDecimals)).
    function _usdOf(uint256 i, uint256 amount) private view returns (uint256) {
        return amount * _price(i) * 1e18 / 10 ** (uint256(_decimals[i]) + FEED_DECIMALS);
    }

    /// @dev Fewest token units worth at least `usd`.
    function _tokensFor(uint256 i, uint256 usd) private view returns (uint256) {
        uint256 numerator = usd * 10 ** (uint256(_decimals[i]) + FEED_DECIMALS);
        uint256 denominator = _price(i) * 1e18;
        return (numerator + denominator - 1) / denominator;
    }

    function _bound(uint256 x, uint256 min, uint256 max) private pure returns (uint256) {
        return min + x % (max - min + 1);
    }

    function _selector(bytes4 selector) private pure returns (bytes memory) {
        return abi.encodePacked(selector);
    }

    /// @dev `data` without its first four bytes (an error's selector).
    function _withoutSelector(bytes memory data) private pure returns (bytes memory rest) {
        // The same memory, four bytes on, with the length word rewritten (`data` is not used again).
        assembly ("memory-safe") {
            rest := add(data, 4)
            mstore(rest, sub(mload(data), 4))
        }
    }

    function _expectSelector(bytes memory err, bytes4 selector, string memory what) private {
        if (err.length < 4 || bytes4(err) != selector) _failWith(string.concat(what, ": unexpected error"), err);
    }

    /// @dev Expects exactly the error `expected`, arguments included.
    function _expectError(bytes memory err, bytes memory expected, string memory what) private {
        if (keccak256(err) != keccak256(expected)) _failWith(string.concat(what, ": unexpected error"), err);
    }

    function _fail(string memory what) private {
        if (failures++ == 0) failure = what;
    }

    function _failWith(string memory what, bytes memory err) private {
        if (failures++ == 0) failure = string.concat(what, " reverted with ", _hex(err));
    }

    function _count(bytes32 outcome) private {
        if (outcomes[outcome]++ == 0) outcomeNames.push(outcome);
    }

    function _hex(bytes memory data) private pure returns (string memory) {
        bytes memory symbols = "0123456789abcdef";
        uint256 n = data.length < 100 ? data.length : 100;
        bytes memory out = new bytes(2 + 2 * n);
        out[0] = "0";
        out[1] = "x";
        for (uint256 i; i < n; ++i) {
            out[2 + 2 * i] = symbols[uint8(data[i]) >> 4];
            out[3 + 2 * i] = symbols[uint8(data[i]) & 15];
        }
        return string(out);
    }

    receive() external payable {}
}
