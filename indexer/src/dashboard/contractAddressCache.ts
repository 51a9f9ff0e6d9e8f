import type { Address, Hex } from "viem";

/** How long an address without code is believed to have none: a Safe may yet be deployed at its counterfactual address. */
export const NO_CODE_FOR_MS = 60_000;

/**
 * Whether an address holds a contract (a Safe) or is a plain wallet, as the node's code says, asked once per address.
 * Code, once deployed, stays for the process's life (a Safe is never removed); an address without any is asked again
 * after NO_CODE_FOR_MS, so that a Safe deployed later is seen within a minute.
 */
export class ContractAddressCache {
  private readonly known = new Map<string, { contract: boolean; until: number }>();

  constructor(
    private readonly codeOf: (address: Address) => Promise<Hex | undefined>,
    private readonly now: () => Date,
    private readonly noCodeForMs = NO_CODE_FOR_MS,
  ) {}

  async isContract(address: Address): Promise<boolean> {
    const key = address.toLowerCase();
    const time = this.now().getTime();
    const cached = this.known.get(key);
    if (cached && time < cached.until) return cached.contract;
    const code = await this.codeOf(address);
    const contract = code !== undefined && code !== "0x";
    this.known.set(key, { contract, until: contract ? Number.POSITIVE_INFINITY : time + this.noCodeForMs });
    return contract;
  }
}
