import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * A price band around one token's Chainlink feed (contracts/BoundedPriceFeed.sol), deployed on its own: the admin
 * then names it as the token's feed (`allow-token --feed <band>`), so that no payment is valued outside the band.
 * Parameters, in the feed's decimals (8 for Chainlink's USD feeds): `feed`, `minAnswer`, `maxAnswer`.
 */
export default buildModule("PriceBand", (m) => {
  const band = m.contract("BoundedPriceFeed", [m.getParameter<string>("feed"), m.getParameter<bigint>("minAnswer"), m.getParameter<bigint>("maxAnswer")]);
  return { band };
});
