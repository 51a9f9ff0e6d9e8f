import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** The heading of a benchmark doc's hand-written part: what moved the figures and what did not. */
export const NOTES_HEADING = "## What moved these figures";

/**
 * Writes a benchmark's generated doc, keeping the hand-written notes of the file it replaces (from NOTES_HEADING to
 * the end): a new run refreshes the figures without losing why they are what they are.
 */
export function writeBenchmarkDoc(file: string, generated: readonly string[]): void {
  const previous = existsSync(file) ? readFileSync(file, "utf8") : "";
  const at = previous.indexOf(NOTES_HEADING);
  const notes = at >= 0 ? previous.slice(at).trimEnd() : "";
  writeFileSync(file, `${[...generated, ...(notes ? ["", notes] : [])].join("\n").trimEnd()}\n`);
}
