// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/shared/mocks/MockV3Aggregator.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {OpenPayEscrow} from "../../../contracts/OpenPayEscrow.sol";
import {IOpenPayEscrow} from "../../../contracts/interfaces/IOpenPayEscrow.sol";
import {BlacklistToken} from "../../../contracts/test/BlacklistToken.sol";
import {RevertingReceiver} from "../../../contracts/test/RevertingReceiver.sol";
import {TestToken} from "../../../contracts/test/TestToken.sol";

/// @title EscrowHandler
/// @notice Drives one escrow with bounded random actions for forge's invariant fuzzer and keeps ghost accounts of
/// what the escrow should owe, computed independently of the escrow.
/// @dev Deliberately not a forge-std `Test`: every public non-view function here is an action the fuzzer calls.
/// The handler never reverts on a surprise: it records it in `failures`/`failure`, which an invariant checks
/// (with `fail_on_revert = false` a revert would roll the surprise back and hide it).
///
/// Tokens: index 0 is a 6-decimal stablecoin, 1 an 18-decimal stablecoin that blacklists like USDT/USDC, 2 is BNB.
/// Actors (payers and refund receivers): three EOAs and a RevertingReceiver contract that refuses BNB.
contract EscrowHandler {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant BPS = 10_000;
    uint8 internal constant FEED_DECIMALS = 8;
    uint32 internal constant STALENESS = 1 days;
    uint256 internal constant TOKEN_COUNT = 3;
    uint256 internal constant MERCHANT_COUNT = 2;
    uint256 internal constant ACTOR_COUNT = 4;

    struct Ghost {
        /// @dev Token units deposited into open or expired payments and not refunded yet.
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
        IOpenPayEscrow.PaymentIntent intent;
        bytes signature;
        uint8 tokenIndex;
        uint8 merchantIndex;
        IOpenPayEscrow.Status status;
        /// @dev Token units deposited, as the escrow should record them.
        uint256 amount;
        /// @dev USD received, valued by the handler's own arithmetic.
        uint256 receivedUsd;
        /// @dev Token units seen arriving at the escrow for this payment.
        uint256 depositedObserved;
        /// @dev Token units seen leaving for this payment (pushed out or made claimable): expiry and merchant refunds.
        uint256 paidOutObserved;
        /// @dev Token units the merchant refunded.
        uint256 merchantRefunded;
        address[] payers;
    }

    OpenPayEscrow public immutable escrow;
    TestToken public immutable usd6;
    BlacklistToken public immutable blk;
    RevertingReceiver public immutable receiver;
    address public immutable treasury = address(uint160(uint256(keccak256("open-pay treasury"))));
    address public immutable sink = address(uint160(uint256(keccak256("open-pay claim sink"))));

    address[TOKEN_COUNT] public tokens;
    MockV3Aggregator[TOKEN_COUNT] public feeds;
    uint8[TOKEN_COUNT] internal _decimals;
    uint256[TOKEN_COUNT] internal _minPrice;
    uint256[TOKEN_COUNT] internal _maxPrice;

    address[MERCHANT_COUNT] public merchants;
    address[MERCHANT_COUNT] public payouts;
    uint256[MERCHANT_COUNT] internal _signerKeys;
    address[ACTOR_COUNT] public actors;

    mapping(address token => Ghost) internal _ghost;
    mapping(address merchant => mapping(address token => uint256)) public ghostBalance;
    mapping(address token => mapping(address account => uint256)) public ghostClaimable;
    mapping(bytes32 paymentId => mapping(address payer => uint256)) public ghostDeposit;

    Pay[] internal _pays;
    uint16 public ghostToleranceBps = 100;
    uint16 public ghostFeeBps;
    uint256 public currentTime;

    uint256 public failures;
    string public failure;

    /// @notice How often each outcome happened in the current run (read it in traces when tuning the handler).
    mapping(bytes32 outcome => uint256) public outcomes;

    constructor() {
        currentTime = block.timestamp;
        escrow = new OpenPayEscrow(address(this), treasury);
        escrow.grantRole(escrow.SIGNER_MANAGER_ROLE(), address(this));

        usd6 = new TestToken("USD 6", "USD6", 6);
        blk = new BlacklistToken();
        receiver = new RevertingReceiver();
        tokens = [address(usd6), address(blk), address(0)];
        _decimals = [6, 18, 18];
        _minPrice = [uint256(0.9e8), 0.9e8, 100e8];
        _maxPrice = [uint256(1.1e8), 1.1e8, 2000e8];
        int256[TOKEN_COUNT] memory start = [int256(1e8), 1e8, 600e8];
        for (uint256 i; i < TOKEN_COUNT; ++i) {
            feeds[i] = new MockV3Aggregator(FEED_DECIMALS, start[i]);
            escrow.setToken(tokens[i], address(feeds[i]), STALENESS);
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

    /// @notice A deposit of what is still due (a new payment paid at once, or the top-up that completes one).
    function payInFull(uint256 paymentSeed, uint256 payerSeed, uint256 tokenSeed, uint256 sizeSeed) external {
        _pay(paymentSeed, payerSeed, tokenSeed, 0, sizeSeed);
    }

    /// @notice A deposit of 1–95% of what is still due (it may still complete within the tolerance).
    function payInPart(uint256 paymentSeed, uint256 payerSeed, uint256 tokenSeed, uint256 sizeSeed) external {
        _pay(paymentSeed, payerSeed, tokenSeed, 1, sizeSeed);
    }

    /// @notice A deposit of 101–200% of what is still due.
    function overpay(uint256 paymentSeed, uint256 payerSeed, uint256 tokenSeed, uint256 sizeSeed) external {
        _pay(paymentSeed, payerSeed, tokenSeed, 2, sizeSeed);
    }

    /// @dev A deposit by one of the actors: a new payment or a top-up of an open one. Deposits that must fail (after
    /// the expiry, in another token, by a blacklisted payer) are checked to fail and change nothing.
    function _pay(uint256 paymentSeed, uint256 payerSeed, uint256 tokenSeed, uint256 mode, uint256 sizeSeed) private {
        vm.warp(currentTime);
        uint256 index = _openPayment(paymentSeed);
        if (index == type(uint256).max || paymentSeed % 4 == 0) index = _newPayment(paymentSeed, tokenSeed, sizeSeed);
        Pay storage p = _pays[index];
        address payer = actors[payerSeed % ACTOR_COUNT];

        if (block.timestamp > p.intent.expiry) {
            _payMustFail(p, payer, p.tokenIndex, 1, IOpenPayEscrow.DepositAfterExpiry.selector);
            return;
        }
        if (p.status == IOpenPayEscrow.Status.Open && tokenSeed % 11 == 0) {
            uint8 wrong = uint8((p.tokenIndex + 1 + (tokenSeed >> 8) % 2) % TOKEN_COUNT);
            _payMustFail(p, payer, wrong, 1, IOpenPayEscrow.TokenMismatch.selector);
            return;
        }
        if (p.tokenIndex == 1 && blk.blacklisted(payer)) {
            _payMustFail(p, payer, 1, 1, BlacklistToken.Blacklisted.selector);
            return;
        }

        uint256 amount = _depositAmount(p, mode, sizeSeed);
        _deposit(index, payer, amount);
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

    /// @notice Expires an open payment (moving time past its expiry when asked) and refunds some of its payers;
    /// again on an expired payment, refunds the rest.
    function expire(uint256 paymentSeed, uint256 payerMask, bool warpPastExpiry) external {
        vm.warp(currentTime);
        uint256 index = _findPayment(paymentSeed, true, false);
        if (index == type(uint256).max) return;
        Pay storage p = _pays[index];

        if (p.status == IOpenPayEscrow.Status.Open && block.timestamp <= p.intent.expiry) {
            if (!warpPastExpiry) {
                try escrow.expire(p.intent, p.payers) {
                    _fail("expire before expiry succeeded");
                } catch (bytes memory err) {
                    _expectSelector(err, IOpenPayEscrow.PaymentNotExpired.selector, "expire before expiry");
                }
                _count("expire: not yet");
                return;
            }
            _warpTo(uint256(p.intent.expiry) + 1);
        }

        address[] memory listed = _listPayers(p, payerMask);
        address token = tokens[p.tokenIndex];
        if (token == address(blk) && listed.length != 0 && (payerMask >> 56) % 3 == 0) {
            // The payer (or the intent's refundTo) was blacklisted after paying: its refund must become claimable.
            blk.setBlacklisted(p.intent.refundTo == address(0) ? listed[0] : p.intent.refundTo, true);
        }
        (uint256 heldBefore, uint256 claimableBefore) = (_held(token), _claimableOfActors(token));
        uint256[ACTOR_COUNT] memory balancesBefore = _actorBalances(token);
        (uint256 expected, uint256[ACTOR_COUNT] memory pushed) = _ghostRefundExpired(p, listed);

        try escrow.expire(p.intent, listed) {
            p.status = IOpenPayEscrow.Status.Expired;
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
        p.paidOutObserved += paidOut;
        _count(listed.length == 0 ? bytes32("expire: nobody listed") : bytes32("expire: refunded"));
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

        bool ok = _callAs(account, abi.encodeCall(IOpenPayEscrow.claim, (token, to)));
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
    /// so the refund becomes claimable).
    function merchantRefund(uint256 paymentSeed, uint256 amountSeed, uint256 toSeed) external {
        vm.warp(currentTime);
        uint256 index = _findPayment(paymentSeed, false, true);
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
        p.paidOutObserved += paidOut;
        p.merchantRefunded += amount;
        p.status = p.merchantRefunded == p.amount ? IOpenPayEscrow.Status.Refunded : IOpenPayEscrow.Status.PartiallyRefunded;
        _checkPayment(p);
        _count(amount == refundable ? bytes32("refund: full") : bytes32("refund: partial"));
    }

    /// @notice Blacklists or clears an actor in the blacklisting token.
    function toggleBlacklist(uint256 actorSeed) external {
        address actor = actors[actorSeed % ACTOR_COUNT];
        blk.setBlacklisted(actor, !blk.blacklisted(actor));
        _count("toggleBlacklist");
    }

    /// @notice The admin sets the platform fee (capped at 5%).
    function setFee(uint256 bpsSeed) external {
        uint16 bps = uint16(_bound(bpsSeed, 0, 500));
        escrow.setFee(bps);
        ghostFeeBps = bps;
        _count("setFee");
    }

    /// @notice The admin sets the tolerance (capped at 5%).
    function setTolerance(uint256 bpsSeed) external {
        uint16 bps = uint16(_bound(bpsSeed, 0, 500));
        escrow.setTolerance(bps);
        ghostToleranceBps = bps;
        _count("setTolerance");
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
            _expectSelector(err, IOpenPayEscrow.NothingToClaim.selector, "withdrawFees of nothing");
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

    /// @notice The admin rescues part of the surplus; asking for more than the surplus must revert.
    function rescue(uint256 tokenSeed, uint256 amountSeed, bool tooMuch) external {
        address token = tokens[tokenSeed % TOKEN_COUNT];
        uint256 surplus = _ghost[token].donated;
        if (tooMuch || surplus == 0) {
            uint256 excessive = surplus + _bound(amountSeed, 1, 1e30);
            try escrow.rescue(token, sink, excessive) {
                _fail("rescue beyond the surplus succeeded");
            } catch (bytes memory err) {
                _expectSelector(err, IOpenPayEscrow.RescueExceedsSurplus.selector, "rescue beyond the surplus");
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

    // ---------------------------------------------------------------------------------------------
    // Paying
    // ---------------------------------------------------------------------------------------------

    function _newPayment(uint256 paymentSeed, uint256 tokenSeed, uint256 sizeSeed) private returns (uint256 index) {
        uint8 m = uint8((paymentSeed >> 8) % MERCHANT_COUNT);
        uint256 amountUsd = _bound(uint256(keccak256(abi.encode(sizeSeed, _pays.length))), 1e16, 5_000e18);
        uint256 ttl = _bound(paymentSeed >> 16, 10 minutes, 2 days);
        address refundTo = (paymentSeed >> 96) % 4 == 0 ? actors[(paymentSeed >> 104) % ACTOR_COUNT] : address(0);
        index = _pays.length;
        Pay storage p = _pays.push();
        p.intent = IOpenPayEscrow.PaymentIntent({
            paymentId: bytes32(abi.encodePacked(merchants[m], uint96(index))),
            merchant: merchants[m],
            amountUsd: amountUsd,
            expiry: uint64(block.timestamp + ttl),
            refundTo: refundTo
        });
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(_signerKeys[m], escrow.hashIntent(p.intent));
        p.signature = abi.encodePacked(r, s, v);
        p.tokenIndex = uint8(tokenSeed % TOKEN_COUNT);
        p.merchantIndex = m;
    }

    /// @dev Token units for a deposit: the rest in full, a part of it (1–95%), or more (101–200%).
    function _depositAmount(Pay storage p, uint256 mode, uint256 sizeSeed) private view returns (uint256 amount) {
        uint256 remaining = p.intent.amountUsd - p.receivedUsd;
        uint256 targetUsd;
        if (mode == 0) targetUsd = remaining;
        else if (mode == 1) targetUsd = remaining * _bound(sizeSeed, 1, 95) / 100;
        else targetUsd = remaining * _bound(sizeSeed, 101, 200) / 100;
        amount = _tokensFor(p.tokenIndex, targetUsd);
        if (amount == 0) amount = 1;
    }

    function _deposit(uint256 index, address payer, uint256 amount) private {
        Pay storage p = _pays[index];
        address token = tokens[p.tokenIndex];
        uint256 valueUsd = _usdOf(p.tokenIndex, amount);
        uint256 receivedUsd = p.receivedUsd + valueUsd;
        bool completes = receivedUsd * BPS >= p.intent.amountUsd * (BPS - ghostToleranceBps);
        uint256 heldBefore = _held(token);

        if (!_payAs(payer, p, p.tokenIndex, amount)) return;

        uint256 arrived = _held(token) - heldBefore;
        if (arrived != amount) _fail("deposit moved another amount");
        p.depositedObserved += arrived;
        uint256 earlier = p.amount;
        p.amount += amount;
        p.receivedUsd = receivedUsd;
        if (ghostDeposit[p.intent.paymentId][payer] == 0) p.payers.push(payer);
        if (completes) {
            uint256 fee = p.amount * ghostFeeBps / BPS;
            ghostBalance[merchants[p.merchantIndex]][token] += p.amount - fee;
            _ghost[token].fees += fee;
            _ghost[token].openDeposits -= earlier;
            p.status = IOpenPayEscrow.Status.Completed;
            for (uint256 i; i < p.payers.length; ++i) ghostDeposit[p.intent.paymentId][p.payers[i]] = 0;
            _count(earlier == 0 ? bytes32("pay: completed at once") : bytes32("pay: completed by top-up"));
        } else {
            ghostDeposit[p.intent.paymentId][payer] += amount;
            _ghost[token].openDeposits += amount;
            p.status = IOpenPayEscrow.Status.Open;
            _count(earlier == 0 ? bytes32("pay: opened (underpaid)") : bytes32("pay: topped up, still open"));
        }
        _checkPayment(p);
    }

    /// @dev A deposit that must revert with `selector` and change nothing.
    function _payMustFail(Pay storage p, address payer, uint8 tokenIndex, uint256 amount, bytes4 selector) private {
        address token = tokens[tokenIndex];
        uint256 heldBefore = _held(token);
        IOpenPayEscrow.Payment memory before = escrow.paymentOf(p.intent.paymentId);
        (bool ok, bytes memory err) = _tryPayAs(payer, p, tokenIndex, amount);
        if (ok) return _fail("a deposit that must fail succeeded");
        _expectSelector(err, selector, "deposit that must fail");
        if (_held(token) != heldBefore) _fail("a failed deposit moved tokens");
        if (keccak256(abi.encode(escrow.paymentOf(p.intent.paymentId))) != keccak256(abi.encode(before))) {
            _fail("a failed deposit changed the payment");
        }
        _count("pay: refused");
    }

    function _payAs(address payer, Pay storage p, uint8 tokenIndex, uint256 amount) private returns (bool ok) {
        bytes memory err;
        (ok, err) = _tryPayAs(payer, p, tokenIndex, amount);
        if (!ok) _failWith("pay", err);
    }

    /// @dev Funds `payer`, approves and pays, as an EOA (prank) or through the RevertingReceiver's relay.
    function _tryPayAs(address payer, Pay storage p, uint8 tokenIndex, uint256 amount)
        private
        returns (bool ok, bytes memory err)
    {
        address token = tokens[tokenIndex];
        bytes memory call;
        uint256 value;
        if (token == address(0)) {
            call = abi.encodeCall(IOpenPayEscrow.payNative, (p.intent, p.signature));
            value = amount;
            if (payer == address(receiver)) vm.deal(address(this), address(this).balance + amount);
            else vm.deal(payer, payer.balance + amount);
        } else {
            call = abi.encodeCall(IOpenPayEscrow.pay, (p.intent, p.signature, token, amount));
            bool wasBlacklisted = token == address(blk) && blk.blacklisted(payer);
            if (wasBlacklisted) blk.setBlacklisted(payer, false); // so that it can be funded
            TestToken(token).mint(payer, amount);
            _callAs(payer, abi.encodeCall(IERC20.approve, (address(escrow), amount)), token, 0);
            if (wasBlacklisted) blk.setBlacklisted(payer, true);
        }
        return _tryCallAs(payer, call, address(escrow), value);
    }

    // ---------------------------------------------------------------------------------------------
    // Refunds and checks
    // ---------------------------------------------------------------------------------------------

    /// @dev The ghost side of refunding the listed payers of an expiring payment; returns the total refunded.
    function _ghostRefundExpired(Pay storage p, address[] memory listed)
        private
        returns (uint256 total, uint256[ACTOR_COUNT] memory pushed)
    {
        address token = tokens[p.tokenIndex];
        bytes32 id = p.intent.paymentId;
        for (uint256 i; i < listed.length; ++i) {
            uint256 amount = ghostDeposit[id][listed[i]];
            if (amount == 0) continue;
            ghostDeposit[id][listed[i]] = 0;
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
        IOpenPayEscrow.Payment memory stored = escrow.paymentOf(p.intent.paymentId);
        if (stored.status != p.status) _fail("payment status differs from the tolerance rule");
        if (stored.amount != p.amount) _fail("payment amount differs");
        if (stored.receivedUsd != p.receivedUsd) _fail("payment receivedUsd differs from the independent valuation");
        if (escrow.refundedOf(p.intent.paymentId) != p.merchantRefunded) _fail("refundedOf differs");
        uint256 remaining = escrow.remainingUsd(p.intent);
        uint256 expected = p.status == IOpenPayEscrow.Status.Open ? p.intent.amountUsd - p.receivedUsd : 0;
        if (remaining != expected) _fail("remainingUsd differs");
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------

    function _warpTo(uint256 time) private {
        currentTime = time;
        vm.warp(time);
        for (uint256 i; i < TOKEN_COUNT; ++i) feeds[i].updateAnswer(feeds[i].latestAnswer());
    }

    /// @dev Index of an Open payment (any, if `expirable`: Open or Expired; if `paid`: Completed or
    /// PartiallyRefunded), searching from `seed`; type(uint256).max if none.
    function _findPayment(uint256 seed, bool expirable, bool paid) private view returns (uint256) {
        uint256 n = _pays.length;
        for (uint256 k; k < n; ++k) {
            uint256 i = (seed % n + k) % n;
            IOpenPayEscrow.Status s = _pays[i].status;
            if (expirable && (s == IOpenPayEscrow.Status.Open || s == IOpenPayEscrow.Status.Expired)) return i;
            if (paid && (s == IOpenPayEscrow.Status.Completed || s == IOpenPayEscrow.Status.PartiallyRefunded)) {
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
            if (_pays[i].status == IOpenPayEscrow.Status.Open) return i;
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

    function _expectSelector(bytes memory err, bytes4 selector, string memory what) private {
        if (err.length < 4 || bytes4(err) != selector) _failWith(string.concat(what, ": unexpected error"), err);
    }

    function _fail(string memory what) private {
        if (failures++ == 0) failure = what;
    }

    function _failWith(string memory what, bytes memory err) private {
        if (failures++ == 0) failure = string.concat(what, " reverted with ", _hex(err));
    }

    function _count(bytes32 outcome) private {
        ++outcomes[outcome];
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
