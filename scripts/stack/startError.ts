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

/**
 * Runs a command's `main` and exits with its code; a StartError (or the local deployment's DeploymentError, which
 * names its problem too) is printed as one `error:` line, anything else with its stack.
 */
export function runCommand(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof StartError || (error instanceof Error && error.name === "DeploymentError")) {
        console.error(`error: ${error.message}`);
        process.exit(error instanceof StartError ? error.exitCode : 1);
      }
      console.error(error);
      process.exit(1);
    },
  );
}
