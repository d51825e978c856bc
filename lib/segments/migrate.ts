/**
 * The segments' part of `deno task migrate` (run by lib/registry/migrate.ts, which walks each
 * app's keys step by step, after the registry's steps): layout v3 stores `useg:<user>` as a hash
 * instead of a set; layout v4 keeps each segment's reach sets as bitmaps over installation
 * numbers, so its steps fill the bitmaps from every installation (which the registry's step has
 * numbered) and delete the old sets; layout v7 keeps the ids changed since the last sync as a
 * bitmap too.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import type { MigrationStep } from "../registry/migrate.ts";
import { withLibrary } from "./scripts.ts";
import migrateUsegLua from "./scripts/migrate_useg.lua" with { type: "text" };
import migrateReachLua from "./scripts/migrate_reach.lua" with { type: "text" };
import migrateLegacyReachLua from "./scripts/migrate_legacy_reach.lua" with { type: "text" };
import migrateDirtyLua from "./scripts/migrate_dirty.lua" with { type: "text" };

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
    { name: "dirty", layout: 7, match: "segdirty*", run: moveDirty(redis) },
  ];
}

/**
 * Layout v7's step: the sets of changed ids (`segdirty`, and `segdirty:run` a crashed sync left)
 * move into the bitmaps that replace them, 500 ids per atomic call (each pops what it moves, so a
 * stopped run resumes). `names` are "" and ":run".
 */
function moveDirty(redis: Redis): MigrationStep["run"] {
  const script = redis.createScript<[number, number, number]>(withLibrary(migrateDirtyLua));
  return async (prefix, names) => {
    let moved = 0;
    let dropped = 0;
    for (const suffix of names) {
      if (suffix !== "" && suffix !== ":run") continue;
      let left = 1;
      while (left > 0) {
        const reply = await script.exec([prefix], [suffix]);
        moved += Number(reply[0]);
        dropped += Number(reply[1]);
        left = Number(reply[2]);
      }
    }
    return [moved, dropped];
  };
}
