#!/usr/bin/env node
// `npm run build` (and `npm install`): the off-chain programs compiled to JavaScript in dist/, so that production runs
// `node dist/...` rather than ts-node from devDependencies. esbuild transpiles each file the programs reach, one
// JavaScript file per TypeScript file at the same path under dist/ (dist/indexer/src/main.js), as ts-node's
// --transpile-only did: types are checked apart, by `npm run typecheck`. A fifth of a second, where tsc takes ~10 s.
const { cpSync, rmSync } = require("node:fs");
const path = require("node:path");
const { build } = require("esbuild");

const ROOT = path.join(__dirname, "..");
const OUT = path.join(ROOT, "dist");

/** What the npm scripts run (package.json: start, demo, indexer, merchant, webhooks) and what they start by path. */
const ENTRY_POINTS = [
  "scripts/start.ts",
  "scripts/demo.ts",
  "indexer/src/main.ts",
  "indexer/src/admin/merchantCommand.ts",
  // Preloaded by path (node -r) into the services npm start runs.
  "scripts/stack/exitWithParent.ts",
  // Loaded by npm start's Hardhat (HARDHAT_CONFIG), which would otherwise compile it and its tasks with ts-node.
  "hardhat.config.ts",
];

/** Files the code reads beside itself at run time: the token logos, and the checkout's and dashboard's scripts, bundled on first use. */
const ASSETS = ["indexer/src/checkout/assets", "indexer/src/checkout/browser", "indexer/src/dashboard/browser"];

async function main() {
  // Every file the entry points import, statically or by import(): esbuild's own resolution, packages left out.
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints: ENTRY_POINTS,
    bundle: true,
    packages: "external",
    platform: "node",
    write: false,
    metafile: true,
    outdir: OUT,
    logLevel: "silent",
  });
  const sources = Object.keys(metafile.inputs).filter((file) => file.endsWith(".ts"));

  rmSync(OUT, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: sources,
    outbase: ".",
    outdir: OUT,
    bundle: false,
    format: "cjs",
    platform: "node",
    target: "node20",
    // import("./stack/localStack") as require(), as ts-node compiles it: CommonJS files resolve extensionless paths.
    supported: { "dynamic-import": false },
    logLevel: "warning",
  });
  for (const asset of ASSETS) cpSync(path.join(ROOT, asset), path.join(OUT, asset), { recursive: true });
  console.log(`build: ${sources.length} files in ${path.relative(process.cwd(), OUT) || "."}`);
}

main().catch((error) => {
  console.error(error.message ?? error);
  process.exit(1);
});
