/**
 * A problem the operator can fix (a malformed argument, an unknown payment, a missing role or key). The command
 * line prints its message as one line and exits non-zero; anything else is a bug and keeps its stack trace.
 */
export class OperatorError extends Error {
  override name = "OperatorError";
}
