import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { escrowSetup } from "./escrowSetup";

/**
 * Open Pay on a live network (BSC mainnet or testnet): the escrow configured for the tokens and Chainlink feeds
 * named in deploy/parameters/<network>.json5.
 */
export default buildModule("OpenPay", (m) => {
  const token = (symbol: string) => ({
    token: m.getParameter<string>(`${symbol}Token`),
    feed: m.getParameter<string>(`${symbol}Feed`),
    maxStaleness: m.getParameter<number>(`${symbol}MaxStaleness`),
    toleranceBps: m.getParameter<number>(`${symbol}ToleranceBps`),
  });
  const { escrow, depositForwarder } = escrowSetup(m, {
    USDT: token("usdt"),
    USDC: token("usdc"),
    BNB: { ...token("bnb"), token: "0x0000000000000000000000000000000000000000" },
  });
  return { escrow, depositForwarder };
});
