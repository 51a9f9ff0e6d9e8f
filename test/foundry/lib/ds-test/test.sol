// SPDX-License-Identifier: MIT
pragma solidity >=0.8.0 <0.9.0;

/// @title DSTest (stand-in)
/// @notice The npm package forge-std@1.1.2 imports "ds-test/test.sol" but does not ship it, so this file stands in
/// for it (remapped in foundry.toml). It keeps ds-test's events and assertion names, with one difference that
/// matters for forge 1.x: a failed assertion reverts (forge no longer reads ds-test's non-reverting `failed` flag
/// unless `legacy_assertions` is set), and the revert reason carries the message and the values compared.
abstract contract DSTest {
    event log(string);
    event logs(bytes);
    event log_address(address);
    event log_bytes32(bytes32);
    event log_int(int256);
    event log_uint(uint256);
    event log_bytes(bytes);
    event log_string(string);
    event log_named_address(string key, address val);
    event log_named_bytes32(string key, bytes32 val);
    event log_named_decimal_int(string key, int256 val, uint256 decimals);
    event log_named_decimal_uint(string key, uint256 val, uint256 decimals);
    event log_named_int(string key, int256 val);
    event log_named_uint(string key, uint256 val);
    event log_named_bytes(string key, bytes val);
    event log_named_string(string key, string val);

    bool public IS_TEST = true;

    /// @notice Always false: a failed assertion reverts instead of setting a flag.
    function failed() public pure returns (bool) {
        return false;
    }

    function fail() internal virtual {
        revert("assertion failed");
    }

    function _fail(string memory what, string memory err) private pure {
        revert(bytes(err).length == 0 ? what : string.concat(err, ": ", what));
    }

    // ----- truthiness -----

    function assertTrue(bool condition) internal virtual {
        if (!condition) _fail("assertion failed", "");
    }

    function assertTrue(bool condition, string memory err) internal virtual {
        if (!condition) _fail("assertion failed", err);
    }

    // ----- equality -----

    function assertEq(address a, address b) internal virtual {
        assertEq(a, b, "");
    }

    function assertEq(address a, address b, string memory err) internal virtual {
        if (a != b) _fail(string.concat(_hex(uint160(a)), " != ", _hex(uint160(b))), err);
    }

    function assertEq(bytes32 a, bytes32 b) internal virtual {
        assertEq(a, b, "");
    }

    function assertEq(bytes32 a, bytes32 b, string memory err) internal virtual {
        if (a != b) _fail(string.concat(_hex(uint256(a)), " != ", _hex(uint256(b))), err);
    }

    function assertEq(int256 a, int256 b) internal virtual {
        assertEq(a, b, "");
    }

    function assertEq(int256 a, int256 b, string memory err) internal virtual {
        if (a != b) _fail(string.concat(_dec(a), " != ", _dec(b)), err);
    }

    function assertEq(uint256 a, uint256 b) internal virtual {
        assertEq(a, b, "");
    }

    function assertEq(uint256 a, uint256 b, string memory err) internal virtual {
        if (a != b) _fail(string.concat(_dec(a), " != ", _dec(b)), err);
    }

    function assertEq(string memory a, string memory b) internal virtual {
        assertEq(a, b, "");
    }

    function assertEq(string memory a, string memory b, string memory err) internal virtual {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) _fail(string.concat('"', a, '" != "', b, '"'), err);
    }

    function assertEq0(bytes memory a, bytes memory b) internal virtual {
        assertEq0(a, b, "");
    }

    function assertEq0(bytes memory a, bytes memory b, string memory err) internal virtual {
        if (keccak256(a) != keccak256(b)) _fail("bytes differ", err);
    }

    // ----- ordering -----

    function assertGt(uint256 a, uint256 b) internal virtual {
        assertGt(a, b, "");
    }

    function assertGt(uint256 a, uint256 b, string memory err) internal virtual {
        if (a <= b) _fail(string.concat(_dec(a), " <= ", _dec(b)), err);
    }

    function assertGe(uint256 a, uint256 b) internal virtual {
        assertGe(a, b, "");
    }

    function assertGe(uint256 a, uint256 b, string memory err) internal virtual {
        if (a < b) _fail(string.concat(_dec(a), " < ", _dec(b)), err);
    }

    function assertLt(uint256 a, uint256 b) internal virtual {
        assertLt(a, b, "");
    }

    function assertLt(uint256 a, uint256 b, string memory err) internal virtual {
        if (a >= b) _fail(string.concat(_dec(a), " >= ", _dec(b)), err);
    }

    function assertLe(uint256 a, uint256 b) internal virtual {
        assertLe(a, b, "");
    }

    function assertLe(uint256 a, uint256 b, string memory err) internal virtual {
        if (a > b) _fail(string.concat(_dec(a), " > ", _dec(b)), err);
    }

    // ----- formatting -----

    function _dec(uint256 value) internal pure returns (string memory) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 v = value; v != 0; v /= 10) ++digits;
        bytes memory out = new bytes(digits);
        for (; value != 0; value /= 10) out[--digits] = bytes1(uint8(48 + value % 10));
        return string(out);
    }

    function _dec(int256 value) internal pure returns (string memory) {
        if (value >= 0) return _dec(uint256(value));
        return string.concat("-", _dec(value == type(int256).min ? uint256(type(int256).max) + 1 : uint256(-value)));
    }

    function _hex(uint256 value) internal pure returns (string memory) {
        if (value == 0) return "0x0";
        uint256 digits;
        for (uint256 v = value; v != 0; v >>= 4) ++digits;
        bytes memory out = new bytes(digits + 2);
        out[0] = "0";
        out[1] = "x";
        bytes memory symbols = "0123456789abcdef";
        for (; value != 0; value >>= 4) out[1 + digits--] = symbols[value & 15];
        return string(out);
    }
}
