#!/usr/bin/env node
// Runs forge offline: `node scripts/forge.js test [forge args...]` (what `npm run test:fuzz` does).
//
// - forge would download solc; it is pointed with `--use` at scripts/solc-for-forge.js instead, which compiles with
//   the npm `solc` package pinned in package.json.
// - The binary is the one shipped by the npm package @foundry-rs/forge (its platform package), started directly:
//   the package's own launcher (node_modules/.bin/forge) exits 0 even when tests fail, which would hide failures.
// Arguments are passed through; the exit code is forge's.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const solc = path.join(__dirname, "solc-for-forge.js");

// Subcommands that compile and therefore accept --use.
const COMPILING = new Set(["build", "b", "compile", "test", "t", "snapshot", "s", "coverage", "script"]);

/** The forge binary of @foundry-rs/forge for this platform (same lookup as the package's launcher). */
function forgeBinary() {
  const arch = { x64: "amd64", arm64: "arm64" }[process.arch];
  const binary = process.platform === "win32" ? "forge.exe" : "forge";
  const candidates = [];
  if (arch) {
    try {
      candidates.push(require.resolve(`@foundry-rs/forge-${process.platform}-${arch}/bin/${binary}`, { paths: [root] }));
    } catch {
      // not installed for this platform; try the launcher's fallback location
    }
  }
  candidates.push(path.join(root, "node_modules", "@foundry-rs", "forge", "dist", binary));
  return candidates.find((candidate) => fs.existsSync(candidate));
}

const forge = forgeBinary();
if (!forge) {
  console.error(`no forge binary for ${process.platform}-${process.arch}: run npm install (it comes with @foundry-rs/forge)`);
  process.exit(1);
}
try {
  fs.chmodSync(solc, 0o755); // forge executes it; a checkout may have lost the executable bit
} catch {
  // read-only checkout: forge reports it if it cannot run the compiler
}

const args = process.argv.slice(2);
if (COMPILING.has(args[0]) && !args.includes("--use")) args.push("--use", solc);

const child = spawn(forge, args, { cwd: root, stdio: "inherit", env: { ...process.env, FOUNDRY_OFFLINE: "true" } });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("error", (error) => {
  console.error(`could not run ${forge}: ${error.message}`);
  process.exit(1);
});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
