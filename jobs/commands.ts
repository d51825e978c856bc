/**
 * The command-line runners main.ts hands a booted runtime to: `worker`, `migrate` and `sync`.
 * Each runs its lib/ or jobs/ function, then releases the runtime (relay, Redis) itself, so
 * main.ts only has to pick one and exit with its code.
 *
 * @module
 */
import { runMigrateCli } from "../lib/registry/mod.ts";
import { onSignals, release, type Runtime } from "../lib/runtime/mod.ts";
import { runSyncCli } from "./segment_sync.ts";
import { runWorkerCommand } from "./send_worker.ts";

/**
 * `deno task worker`: `WORKERS` send workers (at least one) until SIGINT/SIGTERM; each finishes
 * the item it holds before the runtime is released.
 */
export async function workerCommand(runtime: Runtime): Promise<void> {
  const signal = new AbortController();
  onSignals(() => Promise.resolve(signal.abort()));
  await runWorkerCommand({
    services: runtime.services,
    count: Math.max(1, runtime.config.WORKERS),
    signal: signal.signal,
  });
  await release(runtime);
}

/** `deno task migrate [--app id]…`: returns the exit code, with the runtime released. */
export async function migrateCommand(args: string[], runtime: Runtime): Promise<number> {
  const code = await runMigrateCli(args, {
    redis: runtime.services.redis,
    listAppIds: () => runtime.services.apps.listIds(),
  });
  await release(runtime);
  return code;
}

/**
 * `deno task sync [--app id]… [--full|--incremental]`: returns the exit code, with the runtime
 * released.
 */
export async function syncCommand(args: string[], runtime: Runtime): Promise<number> {
  const code = await runSyncCli(args, {
    redis: runtime.services.redis,
    staleAfterDays: runtime.config.STALE_AFTER_DAYS,
  });
  await release(runtime);
  return code;
}
