import path from "node:path";

/** Whether this code runs compiled (dist/, `npm run build`) or from its TypeScript sources (tests, Hardhat tasks). */
const COMPILED = path.extname(__filename) === ".js";
/** The tree this code runs from: the repository's root for the sources, dist/ compiled; both lay files out alike. */
const TREE = path.resolve(__dirname, "../..");

/**
 * The node arguments that run another of the repository's programs (`file` from the root, without its extension, e.g.
 * "indexer/src/main") in the form this code runs in: compiled, its compiled copy; from the sources, through ts-node
 * (so that a test of the sources runs the sources throughout). Preloads (`node -r`) likewise.
 */
export function programArguments(file: string, { preload = [] }: { preload?: string[] } = {}): string[] {
  const inTree = (name: string) => path.join(TREE, `${name}${COMPILED ? ".js" : ".ts"}`);
  const runner = COMPILED ? [] : ["-r", "ts-node/register/transpile-only"];
  return [...runner, ...preload.flatMap((name) => ["-r", inTree(name)]), inTree(file)];
}
