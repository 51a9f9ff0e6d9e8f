import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { shownPath } from "./repository";
import { StartError } from "./startError";

/**
 * How to reach a running local stack, written by `npm start` into its folder (stack.json, readable by its owner
 * only, removed when the stack stops) and read by `npm run demo`. The folder is gitignored: the demo merchant's key
 * lives nowhere else.
 */
export const stackDetailsSchema = z.object({
  apiUrl: z.url(),
  apiKey: z.string().startsWith("op_"),
  rpcUrl: z.url(),
  chainId: z.number().int().positive(),
  merchant: z.object({ id: z.string(), name: z.string(), address: z.string() }),
  escrow: z.string(),
  /** The process of `npm start`, and the services' process it started. */
  pid: z.number().int(),
  servicesPid: z.number().int(),
  startedAt: z.string(),
});

export type StackDetails = z.infer<typeof stackDetailsSchema>;

export function writeStackDetails(file: string, details: StackDetails): void {
  writeFileSync(file, `${JSON.stringify(details, null, 2)}\n`, { mode: 0o600 });
}

export function removeStackDetails(file: string): void {
  rmSync(file, { force: true });
}

/** The running stack's details; the error says how to start one or what to set instead. */
export function readStackDetails(file: string): StackDetails {
  if (!existsSync(file)) {
    throw new StartError(
      `no running local stack: ${shownPath(file)} is missing. Start one with \`npm start\` in another terminal; ` +
        "if it runs with another --data-dir, give the demo the same one (or STACK_DATA_DIR), or set OPENPAY_URL and OPENPAY_KEY",
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new StartError(`${shownPath(file)} is not valid JSON (${(error as Error).message}): restart the stack with \`npm start\``);
  }
  const result = stackDetailsSchema.safeParse(raw);
  if (!result.success) throw new StartError(`${shownPath(file)} is not what npm start writes: restart the stack with \`npm start\``);
  return result.data;
}
