/**
 * The daily segment sync: for each app, under that app's Redis lock, marks stale
 * installations, prunes invalid ones, reconciles changed installations and rebuilds the
 * segments that are due, then writes a report per segment (see lib/segments/sync.ts).
 *
 * lib/segments' `runSegmentSync` does the work; this file runs it from `Deno.cron`
 * ({@linkcode segmentSyncCron}) and `deno task sync` ({@linkcode runSyncCli}). The HTTP route
 * calls lib/segments directly.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { listAppIds } from "../lib/apps/mod.ts";
import { runSegmentSync, type SyncMode } from "../lib/segments/mod.ts";

export { runSegmentSync };

/**
 * `deno task sync [--app <appId>]… [--full|--incremental] [--retention-days N]`: runs the
 * sync, prints progress lines and the JSON report, and returns the exit code (0, or 1 when an
 * app failed).
 */
export async function runSyncCli(
  args: string[],
  deps: {
    redis: Redis;
    staleAfterDays: number;
    now?: () => number;
    print?: (line: string) => void;
  },
): Promise<number> {
  const print = deps.print ?? ((line: string) => console.log(line));
  const appIds: string[] = [];
  let mode: SyncMode = "auto";
  let retentionDays: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--app") appIds.push(args[++i] ?? "");
    else if (arg === "--full") mode = "full";
    else if (arg === "--incremental") mode = "incremental";
    else if (arg === "--retention-days") retentionDays = Number(args[++i]);
    else {
      print(`unknown argument: ${arg}\n${SYNC_USAGE}`);
      return 2;
    }
  }
  if (appIds.includes("") || (retentionDays !== undefined && !(retentionDays >= 0))) {
    print(`--app needs an app id and --retention-days a number of days\n${SYNC_USAGE}`);
    return 2;
  }
  const known = new Set(await listAppIds(deps.redis));
  const unknown = appIds.filter((id) => !known.has(id));
  if (unknown.length) {
    print(
      `no app ${unknown.join(", ")} here: nothing was synced. The app ids are in ` +
        "`GET /v1/apps` (admin token); check that this command reaches the same Redis as the API.",
    );
    return 1;
  }
  const report = await runSegmentSync({
    redis: deps.redis,
    appIds: appIds.length ? appIds : undefined,
    now: deps.now,
    staleAfterDays: deps.staleAfterDays,
    retentionDays,
    mode,
    onProgress: (e) =>
      print(
        `[sync] ${e.appId} ${e.step}${e.segmentId ? ` ${e.segmentId}` : ""}${
          e.count !== undefined ? ` ${e.count}` : ""
        }`,
      ),
  });
  print(JSON.stringify(report, null, 2));
  return report.apps.some((a) => a.status === "failed") ? 1 : 0;
}

const SYNC_USAGE = "usage: sync [--app <appId>]... [--full|--incremental] [--retention-days N]";

/** The `Deno.cron` name main.ts registers. */
export const SEGMENT_SYNC_CRON_NAME = "edgepush-segment-sync";

/**
 * The handler main.ts registers with
 * `Deno.cron(SEGMENT_SYNC_CRON_NAME, config.SEGMENT_SYNC_CRON, segmentSyncCron({...}))`.
 * Failures are logged, never thrown (a thrown cron handler would only be retried blindly).
 */
export function segmentSyncCron(deps: {
  redis: Redis;
  staleAfterDays: number;
  logger?: {
    info(msg: string, f?: Record<string, unknown>): void;
    error(msg: string, f?: Record<string, unknown>): void;
  };
}): () => Promise<void> {
  return async function segmentSync() {
    try {
      const report = await runSegmentSync({
        redis: deps.redis,
        staleAfterDays: deps.staleAfterDays,
      });
      deps.logger?.info("segment sync finished", {
        durationMs: report.durationMs,
        apps: report.apps.length,
      });
    } catch (error) {
      deps.logger?.error("segment sync failed", { message: (error as Error).message });
    }
  };
}
