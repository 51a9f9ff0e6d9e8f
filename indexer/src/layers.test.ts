import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * The gateway's layers, bottom first (docs/indexer.md draws them). An import may point down this list, never up; the
 * folders of one layer may import each other only where `peers` says so: the domain is one vocabulary, but the roles
 * run apart (one process may run any subset of them), so what two roles share belongs below them.
 */
const LAYERS: ReadonlyArray<{ name: string; folders: readonly string[]; peers: boolean }> = [
  { name: "domain", folders: ["payments", "prices"], peers: true },
  { name: "chain", folders: ["chain"], peers: false },
  { name: "store", folders: ["store"], peers: false },
  { name: "ledger", folders: ["ledger"], peers: false },
  // What the roles' pages share: bundling a page's script, the headers of pages and their assets.
  { name: "web", folders: ["web"], peers: false },
  { name: "roles", folders: ["indexing", "keeper", "webhooks", "api", "checkout", "dashboard", "observability", "admin"], peers: false },
  // main.ts and config.ts, beside this file.
  { name: "entry", folders: ["."], peers: false },
];

const SOURCE = __dirname;

/** The top folder of indexer/src a path lies in ("." for the files beside this one), or undefined outside it. */
function folderOf(file: string): string | undefined {
  const relative = path.relative(SOURCE, file);
  if (relative.startsWith("..") || path.isAbsolute(relative)) return undefined;
  const parts = relative.split(path.sep);
  return parts.length === 1 ? "." : parts[0];
}

const layerIndex = (folder: string) => LAYERS.findIndex((layer) => layer.folders.includes(folder));

/** Why an import from folder `from` to folder `to` breaks the layering, or undefined when it is allowed. */
export function importProblem(from: string, to: string | undefined): string | undefined {
  if (to === undefined) return "points outside indexer/src";
  if (from === to) return undefined;
  const [source, target] = [layerIndex(from), layerIndex(to)];
  if (source < 0) return `${from}/ is in no layer: add it to LAYERS in layers.test.ts`;
  if (target < 0) return `${to}/ is in no layer: add it to LAYERS in layers.test.ts`;
  if (target > source) return `points up: ${from}/ (${LAYERS[source].name}) imports ${to}/ (${LAYERS[target].name})`;
  if (target === source && !LAYERS[source].peers) return `points sideways: ${from}/ and ${to}/ are both ${LAYERS[source].name}; move what they share down`;
  return undefined;
}

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(full);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

/** Every relative import (static, dynamic, re-export) under indexer/src that breaks the layering, one line each. */
function layeringProblems(): string[] {
  return typeScriptFiles(SOURCE).flatMap((file) => {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    return importedFiles
      .filter(({ fileName }) => fileName.startsWith("."))
      .flatMap(({ fileName }) => {
        const problem = importProblem(folderOf(file)!, folderOf(path.resolve(path.dirname(file), fileName)));
        return problem ? [`${path.relative(SOURCE, file)} imports "${fileName}": ${problem}`] : [];
      });
  });
}

describe("layers of indexer/src", () => {
  it("has every import point down (or within its folder)", () => {
    expect(layeringProblems()).to.deep.equal([]);
  });

  it("finds imports that point up, sideways between roles, or out of the source", () => {
    expect(importProblem("store", "api")).to.match(/points up: store\/ \(store\) imports api\/ \(roles\)/);
    expect(importProblem("payments", "chain")).to.match(/points up/);
    expect(importProblem("api", "checkout")).to.match(/points sideways: api\/ and checkout\/ are both roles/);
    expect(importProblem("ledger", ".")).to.match(/points up/);
    expect(importProblem("api", undefined)).to.equal("points outside indexer/src");
    expect(importProblem("reports", "store")).to.match(/reports\/ is in no layer/);
    expect(importProblem("dashboard", "api")).to.match(/points sideways: dashboard\/ and api\/ are both roles/);
  });

  it("lets imports point down, within a folder, and between the domain's folders", () => {
    expect(importProblem(".", "api")).to.equal(undefined);
    expect(importProblem("api", "ledger")).to.equal(undefined);
    expect(importProblem("store", "payments")).to.equal(undefined);
    expect(importProblem("prices", "payments")).to.equal(undefined);
    expect(importProblem("checkout", "checkout")).to.equal(undefined);
  });
});
