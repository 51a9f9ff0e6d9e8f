import { createHash } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { openStore } from "../../indexer/src/store/database";
import { REPOSITORY } from "./repository";

/**
 * An empty, migrated PGlite database, made once (by `npm install`, or by the first start) and copied into the local
 * stack's folder at each start: PGlite's initdb takes seconds, copying its result a fraction of one. The template is
 * named after what decides its contents — the PGlite release and the schema's migrations as written — so that a
 * schema edited in place, or another PGlite, makes a new one rather than a stale copy.
 */

const TEMPLATES = path.join(REPOSITORY, "data", "templates");
const MIGRATIONS = path.join(REPOSITORY, "indexer", "src", "store", "migrations");

/** A name for the schema the migrations make, as written: it changes when a migration is added or edited. */
export function schemaKey(): string {
  const hash = createHash("sha256");
  for (const file of readdirSync(MIGRATIONS).sort()) hash.update(file).update(readFileSync(path.join(MIGRATIONS, file)));
  hash.update(readFileSync(path.join(REPOSITORY, "indexer", "src", "store", "migrate.ts")));
  return hash.digest("hex").slice(0, 16);
}

let currentKey: string | undefined;

/** The current template's key, worked out once per process: tests copy the template for every store they open. */
function templateKey(): string {
  currentKey ??= createHash("sha256")
    .update(readFileSync(path.join(REPOSITORY, "node_modules", "@electric-sql", "pglite", "package.json")))
    .update(schemaKey())
    .digest("hex")
    .slice(0, 16);
  return currentKey;
}

/** Where the templates are kept and the current one's name: data/templates and the hash of what makes it, unless a test says. */
export interface TemplatePlace {
  dir?: string;
  key?: string;
}

/** The current template's folder, made (and older templates removed) when there is none. */
export async function databaseTemplate({ dir = TEMPLATES, key = templateKey() }: TemplatePlace = {}): Promise<string> {
  const name = `pglite-${key}`;
  const template = path.join(dir, name);
  if (existsSync(template)) return template;
  // Made aside and renamed into place, so that a start interrupted here never leaves half a template to copy.
  const making = path.join(dir, `${name}.${process.pid}.making`);
  rmSync(making, { recursive: true, force: true });
  const store = await openStore({ dataDir: making });
  await store.close();
  // Older templates go; another start's template in the making stays.
  for (const other of readdirSync(dir)) {
    if (!other.endsWith(".making")) rmSync(path.join(dir, other), { recursive: true, force: true });
  }
  try {
    renameSync(making, template);
  } catch (error) {
    // Another start made the same template meanwhile: the same contents.
    rmSync(making, { recursive: true, force: true });
    if (!existsSync(template)) throw error;
  }
  return template;
}

/** A fresh database in `dataDir`, copied from the template (which is made first when there is none). */
export async function freshDatabase(dataDir: string, place: TemplatePlace = {}): Promise<void> {
  cpSync(await databaseTemplate(place), dataDir, { recursive: true });
}
