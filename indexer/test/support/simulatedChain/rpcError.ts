/** A JSON-RPC error answer, thrown while answering a call and sent as the call's `error`. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** geth's answer to a call it cannot execute against an address or code (no revert data). */
export const executionReverted = () => new RpcError(-32000, "execution reverted");

export const invalidParams = (message: string) => new RpcError(-32602, message);
