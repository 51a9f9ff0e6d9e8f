/**
 * The process's one way out (as Ponder's shutdown): each part registers its teardown as it starts; `kill` runs them
 * once, in reverse order, so that what started last (the API, the workers) stops before what it stands on (the
 * database, the lock). Whoever kills first names the exit code.
 */
export interface Shutdown {
  /** Registers a teardown; once the shutdown has begun, runs it at once instead (a part that started too late). */
  add(teardown: () => unknown): void;
  /** Begins the shutdown with `code` (the first caller's code is kept) and resolves once every teardown has run. */
  kill(code?: number): Promise<void>;
  /** Aborted as the shutdown begins, so that every loop stops waiting at once, before its teardown's turn. */
  readonly signal: AbortSignal;
  /** The exit code: the first `kill`'s, 0 until then. */
  readonly code: number;
}

/** A shutdown registry; `onError` hears a teardown that failed (the others still run). */
export function createShutdown(onError: (error: unknown) => void): Shutdown {
  const teardowns: Array<() => unknown> = [];
  const abort = new AbortController();
  let code = 0;
  let finished: Promise<void> | undefined;
  const run = async (teardown: () => unknown) => {
    try {
      await teardown();
    } catch (error) {
      onError(error);
    }
  };
  return {
    add(teardown) {
      if (finished) void finished.then(() => run(teardown));
      else teardowns.push(teardown);
    },
    kill(exitCode = 0) {
      if (finished) return finished;
      code = exitCode;
      abort.abort();
      finished = (async () => {
        for (const teardown of teardowns.reverse()) await run(teardown);
      })();
      return finished;
    },
    signal: abort.signal,
    get code() {
      return code;
    },
  };
}
