/**
 * Something stops the stack from starting or the demo from running: a setting, a port in use, a chain that does not
 * answer. The message is one line naming the problem and what to change; the command prints it after `error: ` and
 * exits with `exitCode` (2 for a setting, as the Open Pay process does).
 */
export class StartError extends Error {
  override name = "StartError";

  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
