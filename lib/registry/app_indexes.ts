/**
 * Reads of the registry's app-wide indexes, both bitmaps over installation numbers
 * (scripts/_numbers.lua): the reach bitmaps (`rb:<env>`, which installations sends to `all` may
 * target) and the recency index (`sw:<week>`, which installations were last seen when, for the
 * daily staleness pass, the rule windows and the uninstall probe), and the console's summary
 * built on them. The scripts keep both up to date (scripts/_lib.lua's commit).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { installationCodecLua } from "./installation_codec.ts";
import reachScanLua from "./scripts/reach_scan.lua" with { type: "text" };
import seenScanLua from "./scripts/seen_scan.lua" with { type: "text" };
import { registryKeys } from "./_keys.ts";
import type { EnvironmentName } from "./schemas.ts";
import type { Installation } from "./installation.ts";

/** What {@linkcode AppIndexes.summary} answers. */
export interface InstallationSummary {
  /** Installations not deleted. */
  total: number;
  /** Reachable installations per environment (exact). */
  reachable: Record<EnvironmentName, number>;
  /**
   * Per environment, counts by status (`active`, `replaced`, `unregistered`, `bad_token`), with
   * active installations that cannot be reached counted as `denied` or `stale` instead.
   */
  byEnvironment: Record<EnvironmentName, Record<string, number>>;
  /** True when the breakdown covers only the most recently seen installations. */
  sampled: boolean;
}

/** The recency index's bucket width, as scripts/_seen.lua's SEEN_WEEK_MS. */
const WEEK_MS = 7 * 86_400_000;
const ID_BATCH = 500;

/** The index reads returned by {@linkcode createAppIndexes}. */
export type AppIndexes = ReturnType<typeof createAppIndexes>;

/**
 * The index reads over one Redis; `getMany` reads installations (the summary's breakdown).
 */
export function createAppIndexes(
  redis: Redis,
  getMany: (appId: string, ids: readonly string[]) => Promise<(Installation | null)[]>,
) {
  const reachScan = redis.createScript<[string, string[]]>(
    `${installationCodecLua}\n${reachScanLua}`,
  );
  const seenScan = redis.createScript<[string, string[]]>(
    `${installationCodecLua}\n${seenScanLua}`,
  );

  /** The weeks holding a bitmap between those of `after` and `until`, oldest first. */
  async function weeks(appId: string, after: number, until: number): Promise<number[]> {
    const from = after === -Infinity ? "-inf" : Math.floor(after / WEEK_MS);
    const to = until === Infinity ? "+inf" : Math.floor(until / WEEK_MS);
    const found = await redis.zrange<(string | number)[]>(
      registryKeys.seenWeeks(appId),
      from,
      to,
      { byScore: true },
    );
    return found.map(Number);
  }

  /** Visits the ids last seen in (`after`, `until`], week by week; stops when told to. */
  async function visitSeen(
    appId: string,
    range: { after: number; until: number },
    visit: (installationIds: string[]) => Promise<boolean | void>,
    newestFirst = false,
  ): Promise<void> {
    if (range.until <= range.after) return;
    const list = await weeks(appId, range.after, range.until);
    if (newestFirst) list.reverse();
    const bounds = [
      range.after === -Infinity ? "-inf" : String(range.after),
      range.until === Infinity ? "+inf" : String(range.until),
    ];
    for (const week of list) {
      let cursor = "0";
      do {
        const [next, ids] = await seenScan.exec([registryKeys.prefix(appId)], [
          String(week),
          cursor,
          String(ID_BATCH),
          ...bounds,
        ]);
        cursor = String(next);
        if (ids?.length && (await visit(ids.map(String))) === false) return;
      } while (cursor !== "0");
    }
  }

  /** Installations not deleted: one bit each across the recency index's weeks. */
  async function total(appId: string): Promise<number> {
    const list = await weeks(appId, -Infinity, Infinity);
    if (list.length === 0) return 0;
    const p = redis.pipeline();
    for (const week of list) p.bitcount(registryKeys.seenWeek(appId, week), 0, -1);
    const counts = await p.exec<number[]>();
    return counts.reduce((sum, n) => sum + Number(n), 0);
  }

  return {
    /** How many installations of the app are reachable in `environment`. */
    async reachableCount(appId: string, environment: EnvironmentName): Promise<number> {
      return Number(await redis.bitcount(registryKeys.reachable(appId, environment), 0, -1));
    },

    /**
     * One step over the app's reachable installations in `environment` (`cursor` "0" starts;
     * the answer's cursor "0" means done): a byte offset into the reach bitmap, so each id comes
     * once per pass, in installation-number order.
     */
    async scanReachable(
      appId: string,
      environment: EnvironmentName,
      cursor: string,
      count = ID_BATCH,
    ): Promise<{ cursor: string; installationIds: string[] }> {
      const [next, ids] = await reachScan.exec([registryKeys.prefix(appId)], [
        environment,
        cursor,
        String(count),
      ]);
      return { cursor: String(next), installationIds: (ids ?? []).map(String) };
    },

    /**
     * Visits, in batches of up to about 500, the ids of the installations (not deleted) last
     * seen in (`after`, `until`] (epoch ms; `-Infinity` for no lower bound), oldest week first
     * (in no particular order within a week). Each id is checked against its stored lastSeenAt.
     */
    async scanSeen(
      appId: string,
      range: { after: number; until: number },
      visit: (installationIds: string[]) => Promise<void>,
    ): Promise<void> {
      await visitSeen(appId, range, visit);
    },

    /**
     * Installations of the app by environment and status (the console's app page): exact
     * totals and reachable counts, and a status breakdown read from about the `sample` most
     * recently seen installations (the latest weeks first; all of them when the app has no
     * more; `sampled` says which).
     */
    async summary(appId: string, sample = 10_000): Promise<InstallationSummary> {
      const p = redis.pipeline();
      p.bitcount(registryKeys.reachable(appId, "production"), 0, -1);
      p.bitcount(registryKeys.reachable(appId, "development"), 0, -1);
      const [[production, development], all] = await Promise.all([
        p.exec<[number, number]>(),
        total(appId),
      ]);
      const byEnvironment: InstallationSummary["byEnvironment"] = {
        production: {},
        development: {},
      };
      let read = 0;
      if (sample > 0) {
        await visitSeen(appId, { after: -Infinity, until: Infinity }, async (ids) => {
          const batch = ids.slice(0, sample - read);
          read += batch.length;
          for (const inst of await getMany(appId, batch)) {
            if (!inst) continue;
            const key = inst.status === "active" && inst.pushAuthorization === "denied"
              ? "denied"
              : inst.status === "active" && inst.stale
              ? "stale"
              : inst.status;
            const counts = byEnvironment[inst.environment];
            counts[key] = (counts[key] ?? 0) + 1;
          }
          return read < sample;
        }, true);
      }
      return {
        total: all,
        reachable: { production: Number(production), development: Number(development) },
        byEnvironment,
        sampled: all > read,
      };
    },
  };
}
