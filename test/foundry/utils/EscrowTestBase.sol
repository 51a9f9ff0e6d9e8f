// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/shared/mocks/MockV3Aggregator.sol";

import {OpenPayEscrow} from "../../../contracts/OpenPayEscrow.sol";
import {IOpenPayEscrow} from "../../../contracts/interfaces/IOpenPayEscrow.sol";
import {IOpenPayEscrowCommon} from "../../../contracts/interfaces/IOpenPayEscrowCommon.sol";
import {TestToken} from "../../../contracts/test/TestToken.sol";

/// @notice Cheatcodes that forge supports but forge-std 1.1.2's `Vm` does not declare.
interface VmExtra {
    function expectRevert(bytes calldata revertData) external;
    function assume(bool condition) external;
}

/// @notice One escrow with an 18-decimal stablecoin, a 6-decimal stablecoin and BNB, all on 8-decimal feeds,
/// and one merchant whose intent signer is a known private key.
abstract contract EscrowTestBase is Test {
    uint8 internal constant FEED_DECIMALS = 8;
    uint32 internal constant STALENESS = 1 days;
    uint256 internal constant USD = 1e18;

    uint256 internal constant SIGNER_KEY = 0xA11CE;
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    IOpenPayEscrow internal escrow;
    TestToken internal usd18;
    TestToken internal usd6;
    MockV3Aggregator internal usd18Feed;
    MockV3Aggregator internal usd6Feed;
    MockV3Aggregator internal bnbFeed;

    address internal admin = address(0xAD);
    address internal treasury = address(0x7EA5);
    address internal merchant = address(0x3E4C);
    address internal payout = address(0x9A70);
    address internal signer;
    address internal payer = address(0xC0FFEE);

    uint256 private _nextPaymentId = 1;

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        signer = vm.addr(SIGNER_KEY);
        escrow = IOpenPayEscrow(address(new OpenPayEscrow(admin, treasury)));
        usd18 = new TestToken("USD 18", "USD18", 18);
        usd6 = new TestToken("USD 6", "USD6", 6);
        usd18Feed = new MockV3Aggregator(FEED_DECIMALS, 1e8);
        usd6Feed = new MockV3Aggregator(FEED_DECIMALS, 1e8);
        bnbFeed = new MockV3Aggregator(FEED_DECIMALS, 600e8);

        vm.startPrank(admin);
        escrow.grantRole(escrow.SIGNER_MANAGER_ROLE(), admin);
        escrow.setToken(address(usd18), address(usd18Feed), STALENESS);
        escrow.setToken(address(usd6), address(usd6Feed), STALENESS);
        escrow.setToken(address(0), address(bnbFeed), STALENESS);
        escrow.registerMerchant(merchant, payout, signer);
        vm.stopPrank();
    }

    function vmx() internal pure returns (VmExtra) {
        return VmExtra(address(vm));
    }

    /// @dev Payment ids start with their merchant's address, as the escrow requires.
    function paymentIdOf(address merchantAddress, uint256 serial) internal pure returns (bytes32) {
        return bytes32(abi.encodePacked(merchantAddress, uint96(serial)));
    }

    function newIntent(uint256 amountUsd) internal returns (IOpenPayEscrowCommon.PaymentIntent memory intent) {
        intent = IOpenPayEscrowCommon.PaymentIntent({
            paymentId: paymentIdOf(merchant, _nextPaymentId++),
            merchant: merchant,
            amountUsd: amountUsd,
            expiry: uint64(block.timestamp + 30 minutes),
            refundTo: address(0),
            acceptedTokens: tokenBit(address(usd18)) | tokenBit(address(usd6)) | tokenBit(address(0))
        });
    }

    /// @dev The bit of `acceptedTokens` that accepts `token` (bit i: the token at index i).
    function tokenBit(address token) internal view returns (uint256) {
        return uint256(1) << escrow.tokenConfigOf(token).index;
    }

    function sign(uint256 key, IOpenPayEscrowCommon.PaymentIntent memory intent) internal returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, escrow.hashIntent(intent));
        return abi.encodePacked(r, s, v);
    }

    /// @dev Mints `amount` of `token` to `from`, approves the escrow and pays (for itself: no beneficiary).
    function payAs(
        address from,
        IOpenPayEscrowCommon.PaymentIntent memory intent,
        bytes memory signature,
        TestToken token,
        uint256 amount
    ) internal {
        token.mint(from, amount);
        vm.prank(from);
        token.approve(address(escrow), amount);
        vm.prank(from);
        escrow.pay(intent, signature, address(token), amount, address(0));
    }

    /// @dev USD value with 18 decimals, computed independently of PriceMath: floor(amount × price × 10^18 /
    /// 10^(tokenDecimals + feedDecimals)). Callers keep amount × price × 10^18 below 2^256.
    function expectedUsd(uint256 amount, uint256 price, uint8 tokenDecimals, uint8 feedDecimals)
        internal
        pure
        returns (uint256)
    {
        return amount * price * 1e18 / 10 ** (uint256(tokenDecimals) + feedDecimals);
    }
}
