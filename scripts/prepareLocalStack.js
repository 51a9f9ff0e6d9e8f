#!/usr/bin/env node
// `npm install` (prepare, after `npm run build`): what `npm start` would otherwise make at its first start, made here
// once — the contracts compiled (solc-js with the IR pipeline: half a minute or more of CPU) and an empty, migrated
// PGlite database for the local stack to copy (PGlite's initdb: seconds). An install without devDependencies
// (production: `npm run indexer` against a deployed escrow) has no Hardhat and runs no local stack, so skips both.
const { spawnSync } = require("node:child_process");
const path = require("node:path");

const ROOT = path.join(__dirname, "..");

function main() {
  try {
    require.resolve("hardhat", { paths: [ROOT] });
  } catch {
    console.log("prepare: Hardhat is not installed (no devDependencies): the contracts and the local stack's database are not prepared");
    return;
  }
  const started = performance.now();
  const compile = spawnSync(process.execPath, [require.resolve("hardhat/internal/cli/bootstrap", { paths: [ROOT] }), "compile", "--quiet"], {
    cwd: ROOT,
    stdio: "inherit",
    // An install never waits on a question.
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
  });
  if (compile.status !== 0) process.exit(compile.status ?? 1);
  const compiled = performance.now();
  const { databaseTemplate } = require(path.join(ROOT, "dist", "scripts", "stack", "databaseTemplate.js"));
  databaseTemplate().then(
    () =>
      console.log(
        `prepare: contracts compiled (${((compiled - started) / 1000).toFixed(1)} s), local stack's database template made (${((performance.now() - compiled) / 1000).toFixed(1)} s)`,
      ),
    (error) => {
      console.error(`prepare: the local stack's database template: ${error.message ?? error}`);
      process.exit(1);
    },
  );
}

main();
