import { shownPath } from "./repository";
import type { ServicesProcess, ServicesReady } from "./servicesProcess";

/**
 * Ctrl-C (SIGINT) or SIGTERM: the first asks the stack to stop cleanly (the returned signal aborts); a second one
 * while it stops gives up waiting (`force`).
 */
export function stopOnSignals(out: (line: string) => void, force: () => void): AbortSignal {
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) {
      out("stopping at once");
      force();
      return;
    }
    out("\nstopping (Ctrl-C again to force)…");
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return stop.signal;
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
}

/**
 * The services once ready, or undefined when Ctrl-C came first (the services are then stopped): stopping while they
 * start is no failure.
 */
export async function readyUnlessStopped(services: ServicesProcess, signal: AbortSignal): Promise<ServicesReady | undefined> {
  const ready = await Promise.race([services.ready, aborted(signal).then(() => undefined)]).catch((error: unknown) => {
    if (signal.aborted) return undefined;
    throw error;
  });
  if (!ready) await services.stop();
  return ready;
}

/**
 * Waits for the stop signal and then stops the services (exit code 0), or reports the services ending by themselves
 * (exit code 1), pointing at the log.
 */
export async function serveUntilStopped(services: ServicesProcess, signal: AbortSignal, logFile: string, out: (line: string) => void): Promise<number> {
  const outcome = await Promise.race([aborted(signal).then(() => "stop" as const), services.exited.then(() => "exited" as const)]);
  if (outcome === "stop") {
    await services.stop();
    return 0;
  }
  const exit = await services.exited;
  out(`error: the services stopped by themselves (exit code ${exit.code ?? exit.signal}); the log says why: ${shownPath(logFile)}`);
  return 1;
}
