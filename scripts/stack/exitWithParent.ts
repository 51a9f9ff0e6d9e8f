/**
 * Preloaded (`node -r`) into the services' process that `npm start` starts: when npm start is gone — stopped, or
 * killed without a chance to stop its child — the IPC channel to it closes, and the services stop as on SIGTERM
 * rather than run on without their chain.
 */
if (process.send) {
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
  // The channel alone must not keep the process alive.
  process.channel?.unref();
}
