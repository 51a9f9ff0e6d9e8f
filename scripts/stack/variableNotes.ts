import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { REPOSITORY } from "./repository";

/**
 * What each variable is for, as .env.example says it: the comment lines right above `NAME=` (a comment above two or
 * more variables in a row describes each of them). .env.example stays the one place variables are described; the
 * `--help` of `npm start` and `npm run demo` show its words rather than a second copy.
 */
export function variableNotes(file = path.join(REPOSITORY, ".env.example")): Map<string, string> {
  const notes = new Map<string, string>();
  if (!existsSync(file)) return notes;
  let comment: string[] = [];
  let shared: string | undefined;
  for (const raw of readFileSync(file, "utf8").split(/\r?\n/)) {
    const line = raw.trim();
    const variable = /^([A-Z][A-Z0-9_]*)=/.exec(line);
    if (variable) {
      if (comment.length > 0) shared = comment.join(" ");
      if (shared !== undefined) notes.set(variable[1], shared);
      comment = [];
    } else if (line.startsWith("#") && !/^#\s*---/.test(line)) {
      comment.push(line.replace(/^#\s?/, "").trim());
      shared = undefined;
    } else {
      // A blank line or a section heading ends what a comment describes.
      comment = [];
      shared = undefined;
    }
  }
  return notes;
}

/** `text` broken into lines of at most `width` characters, each after `indent`. */
export function wrapped(text: string, indent: string, width = 110): string {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (current && indent.length + current.length + 1 + word.length > width) {
      lines.push(indent + current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  if (current) lines.push(indent + current);
  return lines.join("\n");
}
