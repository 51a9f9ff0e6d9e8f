/** The part of an OpenAPI document this file reads: its named schemas, and what refers to them. */
interface OpenApiDocument {
  [part: string]: unknown;
  components?: { schemas?: Record<string, unknown> };
}

const SCHEMA_REF = "#/components/schemas/";

/** Every `$ref` to a named schema inside `node`, by name. */
function referencedNames(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const item of node) referencedNames(item, into);
  else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string" && value.startsWith(SCHEMA_REF)) into.add(value.slice(SCHEMA_REF.length));
      else referencedNames(value, into);
    }
  }
  return into;
}

/**
 * The document with only the named schemas it uses (in its paths, webhooks or other components), directly or through
 * other schemas. The zod type
 * provider names both the request ("…Input") and the response form of every schema with an id, although the API
 * only answers with them: the unused ones would be dead types in every client generated from the document.
 */
export function withReachableSchemas<T extends OpenApiDocument>(document: T): T {
  const schemas = document.components?.schemas;
  if (!schemas) return document;
  const reachable = new Set<string>();
  let frontier = referencedNames({ ...document, components: { ...document.components, schemas: undefined } }, new Set());
  while (frontier.size > 0) {
    const next = new Set<string>();
    for (const name of frontier) {
      if (reachable.has(name)) continue;
      reachable.add(name);
      referencedNames(schemas[name], next);
    }
    frontier = next;
  }
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => reachable.has(name)));
  return { ...document, components: { ...document.components, schemas: kept } };
}
