/**
 * The segments' part of `deno task migrate` (run by lib/registry/migrate.ts, which walks each
 * app's keys step by step): layout v3 stores `useg:<user>` as a hash instead of a set.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import type { MigrationStep } from "../registry/migrate.ts";
import { withLibrary } from "./scripts.ts";
import migrateUsegLua from "./scripts/migrate_useg.lua" with { type: "text" };

/** The segments' migration steps over one Redis. */
export function segmentMigrationSteps(redis: Redis): MigrationStep[] {
  const script = redis.createScript<[number, number]>(withLibrary(migrateUsegLua));
  return [{
    name: "useg",
    layout: 3,
    match: "useg:*",
    run: async (prefix, names) => {
      const [converted, current] = await script.exec([prefix], names);
      return [Number(converted), Number(current)];
    },
  }];
}
