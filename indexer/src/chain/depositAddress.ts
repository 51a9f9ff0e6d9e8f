import { checksumAddress, concat, isHex, keccak256, type Address, type Hex } from "viem";

const ADDRESS_SHAPE = /^0x[0-9a-fA-F]{40}$/;

/**
 * The code at every deposit address, as contracts/libraries/DepositAddressClone.sol deploys it (its NatSpec lists
 * it opcode by opcode): a minimal proxy that delegates every call with calldata to the implementation, as an
 * EIP-1167 clone does, and takes a plain BNB transfer (empty calldata) itself, in 23 gas, so that senders
 * forwarding only the 2,300-gas stipend can pay it too. 49 bytes: the runtime before and after the implementation's
 * 20-byte address.
 */
export const DEPOSIT_ADDRESS_RUNTIME_PREFIX: Hex = "0x3d3d3615602f573d3d363d3d37363d73";
export const DEPOSIT_ADDRESS_RUNTIME_SUFFIX: Hex = "0x5af43d3d93803e602f57fd5bf3";

/** The 10 bytes of creation code before the runtime: they return the 0x31 bytes that follow them. */
export const DEPOSIT_ADDRESS_CONSTRUCTOR: Hex = "0x3d603180600a3d3981f3";

/** The runtime code of the deposit-address proxy of `implementation`. */
export function depositAddressRuntimeCode(implementation: Address): Hex {
  return concat([DEPOSIT_ADDRESS_RUNTIME_PREFIX, implementation.toLowerCase() as Hex, DEPOSIT_ADDRESS_RUNTIME_SUFFIX]);
}

/** The creation code of the deposit-address proxy of `implementation`: the 59 bytes CREATE2 hashes. */
export function depositAddressCreationCode(implementation: Address): Hex {
  return concat([DEPOSIT_ADDRESS_CONSTRUCTOR, depositAddressRuntimeCode(implementation)]);
}

/**
 * The deposit address of a payment, known before anything is deployed there: the CREATE2 address at which
 * the escrow deploys the proxy of its forwarder (`FORWARDER_IMPLEMENTATION`), salted with the intent's digest
 * (`paymentIntentDigest`). Equals `escrow.depositAddressOf(intent)`; returned checksummed.
 */
export function depositAddress({ escrow, forwarderImplementation, digest }: { escrow: Address; forwarderImplementation: Address; digest: Hex }): Address {
  // The shape is all that matters here (the result is checksummed anyway); viem's isAddress would also check the
  // inputs' checksums through its cache, a cost the API pays on every payment it creates.
  if (!ADDRESS_SHAPE.test(escrow)) throw new Error(`escrow: not an address: ${String(escrow)}`);
  if (!ADDRESS_SHAPE.test(forwarderImplementation)) {
    throw new Error(`forwarderImplementation: not an address: ${String(forwarderImplementation)}`);
  }
  if (!isHex(digest, { strict: true }) || digest.length !== 2 + 2 * 32) {
    throw new Error(`digest: must be 32 bytes of hex, got ${String(digest)}`);
  }
  // CREATE2: the last 20 bytes of keccak256(0xff ‖ escrow ‖ salt ‖ keccak256(creation code)), written into one buffer
  // (viem's getContractAddress concatenates and converts its way there, a tenth of a creation's derivation).
  const preimage = Buffer.allocUnsafe(85);
  preimage[0] = 0xff;
  preimage.write(escrow.slice(2), 1, "hex");
  preimage.write(digest.slice(2), 21, "hex");
  preimage.write(creationCodeHash(forwarderImplementation).slice(2), 53, "hex");
  return checksumAddress(`0x${Buffer.from(keccak256(preimage, "bytes").subarray(12)).toString("hex")}`);
}

// The creation code is the same for every payment of an escrow: its hash is worked out once (the API derives an
// address per payment created).
const creationCodeHashes = new Map<string, Hex>();

function creationCodeHash(implementation: Address): Hex {
  const key = implementation.toLowerCase();
  let hash = creationCodeHashes.get(key);
  if (!hash) {
    hash = keccak256(depositAddressCreationCode(implementation));
    creationCodeHashes.set(key, hash);
  }
  return hash;
}
