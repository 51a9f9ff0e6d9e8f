import path from "node:path";

/** The repository's root: defaults (data/local, deployments/, .env) are resolved from here, not from the caller's folder. */
export { REPOSITORY_ROOT as REPOSITORY } from "../../indexer/src/chain/repositoryRoot";

/** A path the user gave (an option or a variable), from the folder they ran the command in. */
export function userPath(value: string): string {
  return path.resolve(process.cwd(), value);
}

/** A path as short as it can be shown: relative to the current folder when inside it. */
export function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file;
}
