import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { escrowSetup } from "./escrowSetup";

/** Chainlink's USD feeds answer with 8 decimals. */
const FEED_DECIMALS = 8;

/**
 * Open Pay on a local chain: USDT and USDC as mintable 18-decimal test tokens (as BSC's are), `MockV3Aggregator`
 * feeds at the prices in deploy/parameters/local.json5, the escrow configured for them, and a demo merchant
 * registered with its signer and payout wallet so that `simulate` can pay it at once.
 */
export default buildModule("LocalOpenPay", (m) => {
  const usdt = m.contract("TestToken", ["Tether USD", "USDT", 18], { id: "USDT" });
  const usdc = m.contract("TestToken", ["USD Coin", "USDC", 18], { id: "USDC" });
  const feed = (symbol: string) => m.contract("MockV3Aggregator", [FEED_DECIMALS, m.getParameter<bigint>(`${symbol}Price`)], { id: `${symbol}Feed` });
  const usdtFeed = feed("usdt");
  const usdcFeed = feed("usdc");
  const bnbFeed = feed("bnb");

  const { escrow, depositForwarder, granted } = escrowSetup(m, {
    USDT: { token: usdt, feed: usdtFeed, maxStaleness: m.getParameter<number>("usdtMaxStaleness"), toleranceBps: m.getParameter<number>("usdtToleranceBps") },
    USDC: { token: usdc, feed: usdcFeed, maxStaleness: m.getParameter<number>("usdcMaxStaleness"), toleranceBps: m.getParameter<number>("usdcToleranceBps") },
    BNB: {
      token: "0x0000000000000000000000000000000000000000",
      feed: bnbFeed,
      maxStaleness: m.getParameter<number>("bnbMaxStaleness"),
      toleranceBps: m.getParameter<number>("bnbToleranceBps"),
    },
  });
  m.call(
    escrow,
    "registerMerchant",
    [m.getParameter<string>("merchant"), m.getParameter<string>("merchantPayout"), m.getParameter<string>("merchantSigner")],
    // The local signer manager is the deployer (local.json5), so the call waits only for that grant.
    { id: "registerDemoMerchant", after: granted },
  );

  return { escrow, depositForwarder, usdt, usdc, usdtFeed, usdcFeed, bnbFeed };
});
