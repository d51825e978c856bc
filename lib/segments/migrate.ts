/**
 * The segments' part of `deno task migrate` (run by lib/registry/migrate.ts, which walks each
 * app's keys step by step, after the registry's steps): layout v3 stores `useg:<user>` as a hash
 * instead of a set; layout v4 keeps each segment's reach sets as bitmaps over installation
 * numbers, so its steps fill the bitmaps from every installation (which the registry's step has
 * numbered) and delete the old sets.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import type { MigrationStep } from "../registry/migrate.ts";
import { withLibrary } from "./scripts.ts";
import migrateUsegLua from "./scripts/migrate_useg.lua" with { type: "text" };
import migrateReachLua from "./scripts/migrate_reach.lua" with { type: "text" };
import migrateLegacyReachLua from "./scripts/migrate_legacy_reach.lua" with { type: "text" };

/** The segments' migration steps over one Redis. */
export function segmentMigrationSteps(redis: Redis, now: () => number): MigrationStep[] {
  const exec = (body: string, withNow = false) => {
    const script = redis.createScript<[number, number]>(withLibrary(body));
    return async (prefix: string, names: string[]): Promise<[number, number]> => {
      const [converted, current] = await script.exec(
        [prefix],
        withNow ? [String(now()), ...names] : names,
      );
      return [Number(converted), Number(current)];
    };
  };
  return [
    { name: "useg", layout: 3, match: "useg:*", run: exec(migrateUsegLua) },
    { name: "reach", layout: 4, match: "inst:*", run: exec(migrateReachLua, true) },
    { name: "legacyReach", layout: 4, match: "seg:*", run: exec(migrateLegacyReachLua) },
  ];
}
