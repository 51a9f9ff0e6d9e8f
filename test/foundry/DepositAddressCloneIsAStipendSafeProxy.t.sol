// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";

import {DepositAddressClone} from "../../contracts/libraries/DepositAddressClone.sol";
import {VmExtra} from "./utils/EscrowTestBase.sol";

/// @notice An implementation that shows what a proxy delegating to it sees and passes on.
contract ProxyProbe {
    /// @notice A call with this selector and data `reason` reverts with it.
    error Refused(bytes reason);

    /// @notice Returns the account whose code and storage run (the proxy's under delegatecall), and the calldata.
    /// @param data Any bytes.
    /// @return self `address(this)`.
    /// @return echoed `data`.
    function echo(bytes calldata data) external view returns (address self, bytes memory echoed) {
        return (address(this), data);
    }

    /// @notice Reverts with `Refused(reason)`.
    /// @param reason Any bytes.
    function refuse(bytes calldata reason) external pure {
        revert Refused(reason);
    }

    /// @notice Reverts on any other calldata.
    fallback() external payable {
        revert("delegated");
    }

    /// @notice Reverts on a plain transfer: a proxy that delegated one would fail it.
    receive() external payable {
        revert("delegated");
    }
}

/// @title DepositAddressClone deploys, at the address it predicts, a proxy that takes plain transfers itself
/// @notice The assembly of the library equals its plain-Solidity creation code and the CREATE2 formula, dirty
/// address bits included; the deployed runtime is the 49 bytes documented; a call with calldata runs the
/// implementation in the proxy's context and passes its return and revert data on unchanged; empty calldata never
/// reaches the implementation and succeeds with 23 gas (so under the 2,300-gas stipend of `transfer`), not with 22.
contract DepositAddressCloneIsAStipendSafeProxyTest is Test {
    ProxyProbe internal implementation;

    function setUp() public {
        implementation = new ProxyProbe();
    }

    function testFuzz_predictionIsTheCreate2AddressOfTheCreationCode(
        address impl,
        bytes32 salt,
        address deployer,
        uint96 dirt
    ) public {
        bytes32 codeHash = keccak256(DepositAddressClone.creationCode(impl));
        address expected =
            address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), deployer, salt, codeHash)))));
        assertEq(DepositAddressClone.predictDeterministicAddress(impl, salt, deployer), expected);
        // Upper bits of the address words that Solidity does not promise to clean change nothing.
        address dirtyImpl;
        address dirtyDeployer;
        // solhint-disable-next-line no-inline-assembly
        assembly {
            dirtyImpl := or(impl, shl(160, dirt))
            dirtyDeployer := or(deployer, shl(160, not(dirt)))
        }
        assertEq(DepositAddressClone.predictDeterministicAddress(dirtyImpl, salt, dirtyDeployer), expected);
    }

    function test_creationCodeIsTheDocumentedBytes() public {
        address impl = 0xBEbeBeBEbeBebeBeBEBEbebEBeBeBebeBeBebebe;
        assertEq0(
            DepositAddressClone.creationCode(impl),
            hex"3d603180600a3d3981f3" hex"3d3d3615602f57" hex"3d3d363d3d37363d73"
            hex"bebebebebebebebebebebebebebebebebebebebe" hex"5af43d3d93803e602f57fd5bf3"
        );
        assertEq(DepositAddressClone.creationCode(impl).length, 59);
    }

    function testFuzz_deploysTheRuntimeAtThePredictedAddress(bytes32 salt, uint96 dirt) public {
        address impl = address(implementation);
        address predicted = DepositAddressClone.predictDeterministicAddress(impl, salt);
        address dirtyImpl;
        // solhint-disable-next-line no-inline-assembly
        assembly {
            dirtyImpl := or(impl, shl(160, dirt))
        }
        address proxy = DepositAddressClone.cloneDeterministic(dirtyImpl, salt);
        assertEq(proxy, predicted);
        bytes memory creation = DepositAddressClone.creationCode(impl);
        bytes memory runtime = new bytes(49);
        for (uint256 i; i < 49; ++i) runtime[i] = creation[10 + i];
        assertEq0(proxy.code, runtime);
    }

    function test_deployingTwiceWithOneSaltReverts() public {
        bytes32 salt = keccak256("salt");
        DepositAddressClone.cloneDeterministic(address(implementation), salt);
        VmExtra(address(vm)).expectRevert(
            abi.encodeWithSelector(
                DepositAddressClone.DepositAddressDeploymentFailed.selector, address(implementation), salt
            )
        );
        this.deploy(address(implementation), salt);
    }

    /// @dev External, so that expectRevert sees the revert of a call.
    function deploy(address impl, bytes32 salt) external returns (address) {
        return DepositAddressClone.cloneDeterministic(impl, salt);
    }

    function testFuzz_callsWithCalldataRunTheImplementationInTheProxy(bytes memory data) public {
        address proxy = DepositAddressClone.cloneDeterministic(address(implementation), keccak256(data));
        (address self, bytes memory echoed) = ProxyProbe(payable(proxy)).echo(data);
        assertEq(self, proxy);
        assertEq0(echoed, data);

        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory reverted) = proxy.call(abi.encodeCall(ProxyProbe.refuse, (data)));
        assertFalse(ok);
        assertEq0(reverted, abi.encodeWithSelector(ProxyProbe.Refused.selector, data));

        // One byte of calldata is enough to be delegated (and refused by the probe's fallback).
        // solhint-disable-next-line avoid-low-level-calls
        (ok, reverted) = proxy.call{value: 1}(hex"00");
        assertFalse(ok);
        assertEq0(reverted, abi.encodeWithSignature("Error(string)", "delegated"));
    }

    function testFuzz_plainTransfersNeverReachTheImplementation(uint128 amount, bytes32 salt) public {
        address proxy = DepositAddressClone.cloneDeterministic(address(implementation), salt);
        vm.deal(address(this), uint256(amount) * 2);
        // Solidity's transfer: 2,300 gas for the receiver, revert on failure.
        payable(proxy).transfer(amount);
        assertEq(proxy.balance, amount);
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory returned) = proxy.call{value: amount}("");
        assertTrue(ok);
        assertEq(returned.length, 0);
        assertEq(proxy.balance, uint256(amount) * 2);
    }

    function test_emptyCalldataCosts23Gas() public {
        address proxy = DepositAddressClone.cloneDeterministic(address(implementation), bytes32(0));
        // Without value, the callee gets exactly the gas asked for (no stipend).
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok,) = proxy.call{gas: 23}("");
        assertTrue(ok, "23 gas do not suffice");
        // solhint-disable-next-line avoid-low-level-calls
        (ok,) = proxy.call{gas: 22}("");
        assertFalse(ok, "22 gas suffice");
    }
}
