import path from "node:path";
import { build } from "esbuild";

let bundle: Promise<string> | undefined;

/**
 * The checkout's script (browser/checkout.ts) bundled with the parts of viem it uses, so that the page loads
 * nothing from another origin. Built in memory once per process (a fraction of a second) rather than at install,
 * so that a fresh clone serves it with no build step.
 */
export function checkoutScript(): Promise<string> {
  bundle ??= build({
    entryPoints: [path.join(__dirname, "browser", "checkout.ts")],
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
