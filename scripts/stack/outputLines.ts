import { createInterface } from "node:readline";

/** Calls `handle` with each non-blank line a child process writes to `stream` (its last one too, unterminated). */
export function onLines(stream: NodeJS.ReadableStream, handle: (line: string) => void): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
    if (line.trim() !== "") handle(line);
  });
}
