import { concat, getContractAddress, isHex, keccak256, type Address, type Hex } from "viem";

const ADDRESS_SHAPE = /^0x[0-9a-fA-F]{40}$/;

/**
 * Creation code of an EIP-1167 minimal proxy, before and after the implementation's 20-byte address:
 * the 55 bytes that OpenZeppelin's `Clones.cloneDeterministic` hands to CREATE2 and that
 * `Clones.predictDeterministicAddress` hashes (`@openzeppelin/contracts/proxy/Clones.sol`).
 */
export const EIP1167_CREATION_CODE_PREFIX: Hex = "0x3d602d80600a3d3981f3363d3d373d3d3d363d73";
export const EIP1167_CREATION_CODE_SUFFIX: Hex = "0x5af43d82803e903d91602b57fd5bf3";

/** The creation code of an EIP-1167 clone of `implementation`. */
export function eip1167CreationCode(implementation: Address): Hex {
  return concat([EIP1167_CREATION_CODE_PREFIX, implementation.toLowerCase() as Hex, EIP1167_CREATION_CODE_SUFFIX]);
}

/**
 * The deposit address of a payment, known before anything is deployed there: the CREATE2 address at which
 * the escrow deploys a clone of its forwarder (`FORWARDER_IMPLEMENTATION`), salted with the intent's digest
 * (`paymentIntentDigest`). Equals `escrow.depositAddressOf(intent)`; returned checksummed.
 */
export function depositAddress({
  escrow,
  forwarderImplementation,
  digest,
}: {
  escrow: Address;
  forwarderImplementation: Address;
  digest: Hex;
}): Address {
  // The shape is all that matters here (the result is checksummed anyway); viem's isAddress would also check the
  // inputs' checksums through its cache, a cost the API pays on every payment it creates.
  if (!ADDRESS_SHAPE.test(escrow)) throw new Error(`escrow: not an address: ${String(escrow)}`);
  if (!ADDRESS_SHAPE.test(forwarderImplementation)) {
    throw new Error(`forwarderImplementation: not an address: ${String(forwarderImplementation)}`);
  }
  if (!isHex(digest, { strict: true }) || digest.length !== 2 + 2 * 32) {
    throw new Error(`digest: must be 32 bytes of hex, got ${String(digest)}`);
  }
  return getContractAddress({ opcode: "CREATE2", from: escrow, salt: digest, bytecodeHash: creationCodeHash(forwarderImplementation) });
}

// The creation code is the same for every payment of an escrow: its hash is worked out once (the API derives an
// address per payment created).
const creationCodeHashes = new Map<string, Hex>();

function creationCodeHash(implementation: Address): Hex {
  const key = implementation.toLowerCase();
  let hash = creationCodeHashes.get(key);
  if (!hash) {
    hash = keccak256(eip1167CreationCode(implementation));
    creationCodeHashes.set(key, hash);
  }
  return hash;
}
