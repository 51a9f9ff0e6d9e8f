import { build } from "esbuild";

const bundles = new Map<string, Promise<string>>();

/**
 * A page's script (`entryPoint`, a TypeScript file run in the browser) bundled with the parts of viem it uses, so
 * that the page loads nothing from another origin. Built in memory once per process (a fraction of a second) rather
 * than at install, so that a fresh clone serves it with no build step; a failed build is tried again on the next call.
 */
export function browserBundle(entryPoint: string): Promise<string> {
  let bundle = bundles.get(entryPoint);
  if (!bundle) {
    bundle = build({
      entryPoints: [entryPoint],
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
        bundles.delete(entryPoint);
        throw error;
      },
    );
    bundles.set(entryPoint, bundle);
  }
  return bundle;
}
