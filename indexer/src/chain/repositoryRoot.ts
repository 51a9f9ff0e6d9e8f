import { existsSync } from "node:fs";
import path from "node:path";

/**
 * The repository's root, where its data lives (deployments/, deploy/parameters/, .env, data/): the nearest folder
 * above this file with a package.json. Found rather than counted, because this file runs both from its source and
 * from its compiled copy a folder deeper (dist/indexer/src/chain, `npm run build`), and the data is not copied.
 */
export const REPOSITORY_ROOT = nearestPackageFolder(__dirname);

function nearestPackageFolder(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json in ${from} or any folder above it`);
  }
}
