import path from "node:path";
import { build } from "esbuild";

let bundle: Promise<string> | undefined;

/**
 * The dashboard's script (browser/dashboard.ts) bundled with the parts of viem it uses (the EIP-4361 message, the
 * wallet's EIP-1193 calls), so that the page loads nothing from another origin. Built in memory once per process,
 * as the checkout's is (checkout/checkoutScript.ts), so that a fresh clone serves it with no build step.
 */
export function dashboardScript(): Promise<string> {
  bundle ??= build({
    entryPoints: [path.join(__dirname, "browser", "dashboard.ts")],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    platform: "browser",
    write: false,
    legalComments: "none",
    logLevel: "silent",
  }).then(
    (result) => result.outputFiles[0].text,
    (error: unknown) => {
      bundle = undefined;
      throw error;
    },
  );
  return bundle;
}
