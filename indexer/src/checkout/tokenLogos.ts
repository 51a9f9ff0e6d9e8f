import { readFileSync } from "node:fs";
import path from "node:path";

/** The tokens with a logo of their own (assets/tokens/<symbol>.svg, drawn for Open Pay): served from the API itself. */
const LOGOS = ["USDT", "USDC", "BNB"] as const;

/** Where the page loads `symbol`'s logo from; undefined for a token without one. */
export function tokenLogoPath(symbol: string): string | undefined {
  return (LOGOS as readonly string[]).includes(symbol.toUpperCase()) ? `/checkout/assets/tokens/${symbol.toLowerCase()}.svg` : undefined;
}

/** The logos by file name (`usdt.svg`), read once. */
export function tokenLogoFiles(): Map<string, string> {
  return new Map(
    LOGOS.map((symbol) => {
      const file = `${symbol.toLowerCase()}.svg`;
      return [file, readFileSync(path.join(__dirname, "assets", "tokens", file), "utf8")];
    }),
  );
}
