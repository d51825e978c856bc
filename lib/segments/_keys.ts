/**
 * Redis keys of segments. Same `{appId}` hash tag as the registry, because registry scripts
 * update segment reachable sets in the same atomic step.
 *
 * Lua scripts build the same names from `prefix` (see scripts/_segment_reindex.lua); keep both
 * in step.
 */
export const segmentKeys = {
  /** `ep:v1:{appId}:` — passed to Lua as the key prefix. */
  prefix: (appId: string) => `ep:v1:{${appId}}:`,
  /** Set: every segment id of the app. */
  index: (appId: string) => `ep:v1:{${appId}}:segs`,
  /**
   * Hash: name, rule (JSON, "" when none), createdAt, updatedAt, syncedAt, report (JSON),
   * fluxAdded/fluxRemoved (changes to the reach sets since the last sync), building (token of
   * the running rebuild), buildSrc (the member set that rebuild reads), replaceSrc (the staging
   * set of the latest replace upload to start), fullAt (last full rebuild).
   */
  segment: (appId: string, segmentId: string) => `ep:v1:{${appId}}:seg:${segmentId}`,
  /** Set: uploaded member user ids. */
  members: (appId: string, segmentId: string) => `ep:v1:{${appId}}:seg:${segmentId}:members`,
  /** Set: a streamed upload's ids before they are applied (one per upload token). */
  staging: (appId: string, segmentId: string, token: string) =>
    `ep:v1:{${appId}}:seg:${segmentId}:staging:${token}`,
  /** Set: the previous member set after a replace, kept until its users' useg entries are fixed. */
  retired: (appId: string, segmentId: string, token: string) =>
    `ep:v1:{${appId}}:seg:${segmentId}:retired:${token}`,
  /**
   * Hash segment id → "1": the segments a user belongs to (reverse index for incremental
   * updates; a hash because Redis 7.0 stores small hashes, not small sets of strings, as
   * listpacks). A superset: it also holds segments whose running rebuild reads a set containing
   * the user. Layout v2 kept a set (converted on write and by `deno task migrate`).
   */
  userSegments: (appId: string, userId: string) => `ep:v1:{${appId}}:useg:${userId}`,
  /**
   * Bitmap: the segment's reachable installations in one environment, bit n = installation
   * number n (see lib/registry/scripts/_numbers.lua).
   */
  reachable: (appId: string, segmentId: string, environment: "production" | "development") =>
    `ep:v1:{${appId}}:seg:${segmentId}:rb:${environment}`,
  /** Bitmap: the reachable bitmap being rebuilt, renamed over `reachable` when complete. */
  building: (appId: string, segmentId: string, environment: "production" | "development") =>
    `ep:v1:{${appId}}:seg:${segmentId}:bb:${environment}`,
  /** Bitmap: scratch of a rebuild's swap (live AND build), deleted in the same script. */
  swapScratch: (appId: string, segmentId: string) => `ep:v1:{${appId}}:seg:${segmentId}:both`,
  /** Set: reachable installation ids, layout v3 and before (removed by `deno task migrate`). */
  legacyReachable: (appId: string, segmentId: string, environment: string) =>
    `ep:v1:{${appId}}:seg:${segmentId}:reach:${environment}`,
  /** Set: the set being rebuilt, layout v3 and before (removed by `deno task migrate`). */
  legacyBuilding: (appId: string, segmentId: string, environment: string) =>
    `ep:v1:{${appId}}:seg:${segmentId}:build:${environment}`,
  /**
   * Bitmap: the installations (bit n = number n) changed since the last sync (written by
   * segment_reindex; layout v7).
   */
  dirty: (appId: string) => `ep:v1:{${appId}}:segdb`,
  /** Bitmap: the changed installations the running (or crashed) sync is reconciling. */
  dirtyProcessing: (appId: string) => `ep:v1:{${appId}}:segdb:run`,
  /** Set: changed installation ids, layout v6 and before (moved by `deno task migrate`). */
  legacyDirty: (appId: string, suffix: "" | ":run" = "") => `ep:v1:{${appId}}:segdirty${suffix}`,
  /** Sorted set: non-active installation ids scored by statusAt (ms), for pruning. */
  invalid: (appId: string) => `ep:v1:{${appId}}:seginvalid`,
  /** Hash: sync state: lastRunAt, staleCutoff (ms). */
  syncState: (appId: string) => `ep:v1:{${appId}}:segsync`,
  /** String: set when a sync was asked for while another held the lock; that run passes again. */
  syncRerun: (appId: string) => `ep:v1:{${appId}}:segsync:rerun`,
  /** String: the per-app sync lock (value = owner token). */
  syncLock: (appId: string) => `ep:v1:{${appId}}:segsync:lock`,
};
