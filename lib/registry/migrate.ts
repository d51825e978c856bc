/**
 * `deno task migrate`: rewrites the data written by an older edgepush into the current layout.
 * Layout v2 shortened the installation hashes (scripts/_codec.lua); layout v3 moved the token
 * index into buckets (scripts/_token_index.lua) and the user → segments index into hashes;
 * layout v4 numbers the installations (scripts/_numbers.lua) and turns the segments' reach sets
 * into bitmaps over those numbers (lib/segments/migrate.ts, the segments' own steps, after the
 * registry's); layout v5 does the same for the app's reach sets, layout v6 for the recency index
 * (`seen` → week bitmaps, scripts/_seen.lua) and layout v7 for the segments' change log; layout
 * v8 leaves out of an installation's hash the times equal to the one they default to, and layout
 * v9 stores attribute strings as themselves, production as no `e` and the secret hash in
 * base64url (one step, scripts/migrate_encoding.lua, rewrites a hash into both). One-shot, idempotent and resumable:
 * - the app's keys are walked step by step (one SCAN per step), each batch one atomic script
 *   that converts only what is still in an old layout;
 * - each step's SCAN cursor is saved after every batch (`ep:v1:{appId}:migrate`), so a run that
 *   stops (a crash, Ctrl-C) continues where it was; a finished step, or app, is skipped;
 * - it is the only converter: the current scripts read neither the old token keys nor the old
 *   `useg` sets, so it must finish before this version serves (docs/operations.md).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
// The segments' step converts keys lib/segments owns; this module only walks them.
import { segmentMigrationSteps } from "../segments/migrate.ts";
import { installationCodecLua } from "./installation_codec.ts";
import migrateLua from "./scripts/migrate_batch.lua" with { type: "text" };
import migrateTokensLua from "./scripts/migrate_tokens.lua" with { type: "text" };
import migrateNumbersLua from "./scripts/migrate_numbers.lua" with { type: "text" };
import migrateAppReachLua from "./scripts/migrate_app_reach.lua" with { type: "text" };
import migrateLegacyAppReachLua from "./scripts/migrate_legacy_app_reach.lua" with {
  type: "text",
};
import migrateSeenLua from "./scripts/migrate_seen.lua" with { type: "text" };
import migrateLegacySeenLua from "./scripts/migrate_legacy_seen.lua" with { type: "text" };
import migrateEncodingLua from "./scripts/migrate_encoding.lua" with { type: "text" };
import { registryKeys } from "./_keys.ts";

/** The layout this version writes; an app's migration record says which one it reached. */
export const REGISTRY_LAYOUT = 9;

/** One pass of the migration over an app's keys of one kind. */
export interface MigrationStep {
  /** Names the step's saved cursor. */
  name: string;
  /** The layout the step brings the data to: apps already there skip it. */
  layout: number;
  /** SCAN pattern after the app's key prefix. */
  match: string;
  /**
   * Converts one batch; `names` are the found keys without prefix and pattern (ids, tokens…).
   * Returns [converted, already current].
   */
  run(prefix: string, names: string[]): Promise<[number, number]>;
}

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
  /** Clock in epoch ms (segment rules with lastSeenWithinDays). Default: `Date.now`. */
  now?: () => number;
}

/** What a run did, per app (totals over its steps and runs). */
export interface MigrateReport {
  apps: Array<{ appId: string; converted: number; alreadyCurrent: number; done: boolean }>;
}

function registrySteps(redis: Redis): MigrationStep[] {
  const exec = (body: string) => {
    const script = redis.createScript<[number, number]>(`${installationCodecLua}\n${body}`);
    return async (prefix: string, names: string[]): Promise<[number, number]> => {
      const [converted, current] = await script.exec([prefix], names);
      return [Number(converted), Number(current)];
    };
  };
  return [
    { name: "inst", layout: 2, match: "inst:*", run: exec(migrateLua) },
    { name: "tok", layout: 3, match: "tok:*", run: exec(migrateTokensLua) },
    { name: "num", layout: 4, match: "inst:*", run: exec(migrateNumbersLua) },
    { name: "appReach", layout: 5, match: "inst:*", run: exec(migrateAppReachLua) },
    { name: "legacyAppReach", layout: 5, match: "reach:*", run: exec(migrateLegacyAppReachLua) },
    { name: "seen", layout: 6, match: "inst:*", run: exec(migrateSeenLua) },
    { name: "legacySeen", layout: 6, match: "seen", run: exec(migrateLegacySeenLua) },
    { name: "encoding", layout: 9, match: "inst:*", run: exec(migrateEncodingLua) },
  ];
}

/** Migrates the apps' data to the current layout. See the module doc. */
export async function migrateRegistry(options: MigrateOptions): Promise<MigrateReport> {
  const { redis } = options;
  const batch = options.batch ?? 500;
  const print = options.print ?? (() => {});
  const steps = [
    ...registrySteps(redis),
    ...segmentMigrationSteps(redis, options.now ?? Date.now),
  ];
  let budget = options.maxBatches ?? Infinity;
  const report: MigrateReport = { apps: [] };
  for (const appId of options.appIds) {
    const prefix = registryKeys.prefix(appId);
    const stateKey = registryKeys.migration(appId);
    const state = await redis.hgetall<Record<string, string>>(stateKey) ?? {};
    const reached = Number(state.layout ?? 0);
    const row = {
      appId,
      converted: Number(state.converted ?? 0),
      alreadyCurrent: Number(state.current ?? 0),
      done: reached >= REGISTRY_LAYOUT,
    };
    report.apps.push(row);
    if (row.done) {
      print(`[migrate] ${appId} already at layout ${REGISTRY_LAYOUT}`);
      continue;
    }
    for (const step of steps) {
      if (reached >= step.layout || String(state[`done:${step.name}`]) === "1") continue;
      // Layout v2's record kept one cursor, the installation step's.
      let cursor = String(
        state[`cursor:${step.name}`] ?? (step.name === "inst" ? state.cursor : undefined) ?? "0",
      );
      const at = prefix.length + step.match.length - 1;
      do {
        if (budget-- <= 0) return report;
        const [next, keys] = await redis.scan(cursor, { match: prefix + step.match, count: batch });
        const names = keys.map((k) => String(k).slice(at));
        if (names.length > 0) {
          const [converted, current] = await step.run(prefix, names);
          row.converted += converted;
          row.alreadyCurrent += current;
        }
        cursor = String(next);
        await redis.hset(stateKey, {
          [`cursor:${step.name}`]: cursor,
          converted: row.converted,
          current: row.alreadyCurrent,
          ...(cursor === "0" ? { [`done:${step.name}`]: "1" } : {}),
        });
      } while (cursor !== "0");
    }
    await redis.hset(stateKey, { layout: REGISTRY_LAYOUT });
    row.done = true;
    print(
      `[migrate] ${appId}: ${row.converted} keys rewritten, ${row.alreadyCurrent} already current`,
    );
  }
  return report;
}

/**
 * The apps whose data an older edgepush wrote and `deno task migrate` has not yet rewritten: no
 * migration record at the current layout, and a key only layouts before v6 kept (the `seen`
 * sorted set, which held every installation not deleted, or an app reach set). Served as is, their
 * installations could not authenticate and would be registered twice, so commands that serve
 * refuse to start until the migration ran (docs/operations.md).
 */
export async function appsAwaitingMigration(
  redis: Redis,
  appIds: readonly string[],
): Promise<string[]> {
  const waiting: string[] = [];
  // One pipeline per app: an app's keys share its slot, two apps' keys may not (cluster mode).
  const check = async (appId: string) => {
    const pipe = redis.pipeline();
    pipe.hget(registryKeys.migration(appId), "layout");
    pipe.exists(
      registryKeys.legacySeen(appId),
      registryKeys.legacyReachable(appId, "production"),
      registryKeys.legacyReachable(appId, "development"),
    );
    const [layout, old] = await pipe.exec<[unknown, unknown]>();
    if (Number(layout ?? 0) < REGISTRY_LAYOUT && Number(old) > 0) waiting.push(appId);
  };
  for (let i = 0; i < appIds.length; i += 50) await Promise.all(appIds.slice(i, i + 50).map(check));
  waiting.sort();
  return waiting;
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
