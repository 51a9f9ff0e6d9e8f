/** The block explorers of the chains Open Pay runs on; a local chain (Hardhat's 31337) has none. */
const EXPLORERS: Record<number, { name: string; url: string }> = {
  56: { name: "BscScan", url: "https://bscscan.com" },
  97: { name: "BscScan testnet", url: "https://testnet.bscscan.com" },
};

/** Where a transaction of `chainId` is shown to people, or undefined on a chain without an explorer. */
export function explorerOf(chainId: number): { name: string; transactionUrl: (hash: string) => string } | undefined {
  const explorer = EXPLORERS[chainId];
  return explorer && { name: explorer.name, transactionUrl: (hash) => `${explorer.url}/tx/${hash}` };
}
