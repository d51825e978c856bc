/**
 * The process around a long-running command: stopping cleanly on SIGINT/SIGTERM, and refusing
 * a taken `PORT` with one line, before anything (the embedded Redis) has started.
 *
 * @module
 */

/**
 * Calls `release` on the first SIGINT or SIGTERM, then exits 0; later signals are ignored
 * while it runs.
 */
export function onSignals(release: () => Promise<void>): void {
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await release();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

/** Stops with one line when `PORT` is taken, before anything (the embedded Redis) starts. */
export function ensurePortFree(port: number): void {
  try {
    Deno.listen({ port, hostname: "0.0.0.0" }).close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    portInUse(port);
  }
}

/** Exits (1) with the line that says `port` is taken and how to pick another. */
export function portInUse(port: number): never {
  console.error(
    `PORT ${port} is already in use (another edgepush, or another program): stop it, or set ` +
      `PORT to a free port (PORT=${port + 1} deno task start).`,
  );
  Deno.exit(1);
}
