import { createServer } from "node:net";
import { StartError } from "./startError";

/** A port some server of the stack will listen on: what it is for, and how to choose another. */
export interface PlannedPort {
  host: string;
  port: number;
  /** "the local chain's JSON-RPC" */
  what: string;
  /** "--chain-port or LOCAL_CHAIN_PORT" */
  changedWith: string;
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Checks, before anything starts, that each planned port can be listened on, so that a port in use stops the stack
 * with a line naming the port, what wanted it and the option or variable that moves it. Port 0 (any free port) is
 * not checked.
 */
export async function checkPortsFree(ports: PlannedPort[]): Promise<void> {
  for (const planned of ports) {
    if (planned.port === 0) continue;
    const error = await tryListen(planned.host, planned.port);
    if (!error) continue;
    const why =
      error.code === "EADDRINUSE"
        ? "is in use (another Open Pay, `npx hardhat node`, or another program?)"
        : error.code === "EACCES"
          ? "may not be listened on by this user"
          : `cannot be listened on (${error.code ?? error.message})`;
    throw new StartError(`port ${planned.port} on ${planned.host}, for ${planned.what}, ${why}: choose another with ${planned.changedWith}`);
  }
}

/** A port free now on `host`, for a server asked to listen on "any free port" whose URL must be known beforehand. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
