#!/usr/bin/env node
// A stand-in `solc` binary for forge (`forge build|test --use scripts/solc-for-forge.js`).
//
// forge normally downloads native solc builds, which these machines cannot reach. This script answers the
// two things forge asks of a compiler binary, using the npm `solc` package (the same soljson that Hardhat uses):
//   --version        prints "Version: <version>" as the last line
//   --standard-json  reads Standard JSON input on stdin, compiles it, prints Standard JSON output
// Imports that are not in the input are resolved relative to --base-path, then each --include-path, then as
// given. Every other flag forge passes (--allow-paths, ...) is ignored.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const args = process.argv.slice(2);

function solc() {
  return require("solc");
}

if (args.includes("--version") || args.includes("-v")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc().version()}\n`);
  process.exit(0);
}

if (!args.includes("--standard-json")) {
  process.stderr.write(`solc-for-forge: only --version and --standard-json are supported (got: ${args.join(" ")})\n`);
  process.exit(1);
}

/** Values of a flag given as `--flag value` or `--flag=value`, in order. */
function flagValues(name) {
  const values = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name && i + 1 < args.length) values.push(args[++i]);
    else if (args[i].startsWith(`${name}=`)) values.push(args[i].slice(name.length + 1));
  }
  return values;
}

const roots = [...flagValues("--base-path"), ...flagValues("--include-path")].map((p) => path.resolve(p));
if (roots.length === 0) roots.push(process.cwd());

function findImports(importPath) {
  const candidates = path.isAbsolute(importPath) ? [importPath] : [...roots.map((root) => path.join(root, importPath)), path.resolve(importPath)];
  for (const candidate of candidates) {
    try {
      return { contents: fs.readFileSync(candidate, "utf8") };
    } catch {
      // try the next root
    }
  }
  return { error: `File not found: ${importPath} (searched ${candidates.join(", ")})` };
}

const input = fs.readFileSync(0, "utf8");
const output = solc().compile(input, { import: findImports });
process.stdout.write(output);
