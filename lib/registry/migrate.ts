/**
 * `deno task migrate`: rewrites the registry's data written by an older edgepush into the
 * current layout (installation hashes v1 → v2, see scripts/_codec.lua). One-shot, idempotent
 * and resumable:
 * - each batch is one atomic script that converts only hashes still in v1;
 * - the SCAN cursor of each app is saved after every batch (`ep:v1:{appId}:migrate`), so a
 *   run that stops (a crash, Ctrl-C) continues where it was; a finished app is skipped;
 * - it runs beside live traffic: live writes store the new layout too, and reads accept both.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { installationCodecLua } from "./installation_codec.ts";
import migrateLua from "./scripts/migrate_batch.lua" with { type: "text" };
import { registryKeys } from "./_keys.ts";

/** The layout this version writes; an app's migration record says which one it reached. */
export const REGISTRY_LAYOUT = 2;

/** Options of {@linkcode migrateRegistry}. */
export interface MigrateOptions {
  redis: Redis;
  /** The apps to migrate. */
  appIds: readonly string[];
  /** Keys per SCAN step and script call. Default 500. */
  batch?: number;
  /** Progress lines. Default: none. */
  print?: (line: string) => void;
  /** Stops after this many batches (for tests of resumption). Default: no limit. */
  maxBatches?: number;
}

/** What a run did, per app. */
export interface MigrateReport {
  apps: Array<{ appId: string; converted: number; alreadyCurrent: number; done: boolean }>;
}

/** Migrates the apps' registry data to the current layout. See the module doc. */
export async function migrateRegistry(options: MigrateOptions): Promise<MigrateReport> {
  const { redis } = options;
  const batch = options.batch ?? 500;
  const print = options.print ?? (() => {});
  const script = redis.createScript<[number, number]>(`${installationCodecLua}\n${migrateLua}`);
  let budget = options.maxBatches ?? Infinity;
  const report: MigrateReport = { apps: [] };
  for (const appId of options.appIds) {
    const prefix = registryKeys.prefix(appId);
    const stateKey = `${prefix}migrate`;
    const state = await redis.hgetall<Record<string, string>>(stateKey) ?? {};
    const row = {
      appId,
      converted: Number(state.converted ?? 0),
      alreadyCurrent: Number(state.current ?? 0),
      done: Number(state.layout ?? 0) >= REGISTRY_LAYOUT,
    };
    report.apps.push(row);
    if (row.done) {
      print(`[migrate] ${appId} already at layout ${REGISTRY_LAYOUT}`);
      continue;
    }
    let cursor = String(state.cursor ?? "0");
    do {
      if (budget-- <= 0) return report;
      const [next, keys] = await redis.scan(cursor, { match: `${prefix}inst:*`, count: batch });
      const ids = keys.map((k) => String(k).slice(`${prefix}inst:`.length));
      if (ids.length > 0) {
        const [converted, current] = await script.exec([prefix], ids);
        row.converted += Number(converted);
        row.alreadyCurrent += Number(current);
      }
      cursor = String(next);
      await redis.hset(stateKey, {
        cursor,
        converted: row.converted,
        current: row.alreadyCurrent,
        ...(cursor === "0" ? { layout: REGISTRY_LAYOUT } : {}),
      });
    } while (cursor !== "0");
    row.done = true;
    print(
      `[migrate] ${appId}: ${row.converted} installations rewritten, ${row.alreadyCurrent} already current`,
    );
  }
  return report;
}

/**
 * The `migrate` command: `migrate [--app <appId>]…` (default: every app). Prints progress and
 * a JSON report; returns the exit code.
 */
export async function runMigrateCli(
  args: string[],
  deps: { redis: Redis; listAppIds: () => Promise<string[]>; print?: (line: string) => void },
): Promise<number> {
  const print = deps.print ?? ((line: string) => console.log(line));
  const appIds: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--app" && args[i + 1]) appIds.push(args[++i]);
    else {
      print(`unknown argument: ${args[i]}\nusage: migrate [--app <appId>]...`);
      return 2;
    }
  }
  const report = await migrateRegistry({
    redis: deps.redis,
    appIds: appIds.length ? appIds : await deps.listAppIds(),
    print,
  });
  print(JSON.stringify(report, null, 2));
  return 0;
}
