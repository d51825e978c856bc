import { hash } from "node:crypto";

/**
 * Redis keys of the registry. Every key carries the `{appId}` hash tag so a Lua script that
 * touches several of them stays in one cluster slot. Lua scripts receive `prefix(appId)` and
 * build the same names; keep both in step.
 */
export const registryKeys = {
  /** `ep:v1:{appId}:` — passed to Lua as the key prefix. */
  prefix: (appId: string) => `ep:v1:{${appId}}:`,
  /** Hash: one installation (see lib/registry/installation.ts for the fields). */
  installation: (appId: string, id: string) => `ep:v1:{${appId}}:inst:${id}`,
  /**
   * Hash: one bucket of the token index, field → installation id (see
   * {@linkcode tokenIndexSlot} and scripts/_token_index.lua).
   */
  tokenBucket: (appId: string, bucket: string) => `ep:v1:{${appId}}:tk:${bucket}`,
  /** String: token → installation id, the token index of layout v2 and before (migrated). */
  legacyToken: (appId: string, token: string) => `ep:v1:{${appId}}:tok:${token}`,
  /** String: the app's installation number counter (scripts/_numbers.lua). */
  numberSeq: (appId: string) => `ep:v1:{${appId}}:nseq`,
  /** Hash: installation number → id for numbers 128·bucket to 128·bucket + 127 (field n % 128). */
  numberIndex: (appId: string, bucket: string) => `ep:v1:{${appId}}:ix:${bucket}`,
  /** Sorted set: a user's installation ids, scored by lastSeenAt (ms). */
  user: (appId: string, userId: string) => `ep:v1:{${appId}}:user:${userId}`,
  /**
   * Bitmap: the app's reachable installations in one environment, bit n = installation number n
   * (layout v5; scripts/_numbers.lua).
   */
  reachable: (appId: string, environment: "production" | "development") =>
    `ep:v1:{${appId}}:rb:${environment}`,
  /** Set: reachable installation ids of the app in one environment (layout v4 and before). */
  legacyReachable: (appId: string, environment: "production" | "development") =>
    `ep:v1:{${appId}}:reach:${environment}`,
  /**
   * Sorted set: the weeks (floor(lastSeenAt / 7 days), score = member) that have a
   * {@linkcode registryKeys.seenWeek} bitmap (layout v6; scripts/_seen.lua).
   */
  seenWeeks: (appId: string) => `ep:v1:{${appId}}:sw`,
  /** Bitmap: the installations (bit n = number n) not deleted and last seen in `week`. */
  seenWeek: (appId: string, week: number | string) => `ep:v1:{${appId}}:sw:${week}`,
  /** Hash: `deno task migrate`'s progress: the layout reached, a cursor and a done flag per step. */
  migration: (appId: string) => `ep:v1:{${appId}}:migrate`,
  /** Sorted set: every non-deleted installation id by lastSeenAt (layout v5 and before). */
  legacySeen: (appId: string) => `ep:v1:{${appId}}:seen`,
};

/**
 * Where the token index keeps `token`: with h = the SHA-1 hex of the token, bucket = h's first 4
 * digits, field = its next 16; the value is the installation id (ids separated by " " when
 * tokens share that entry). Mirrors `tok_slot` in scripts/_token_index.lua.
 */
export function tokenIndexSlot(token: string): { bucket: string; field: string } {
  const h = hash("sha1", token, "hex");
  return { bucket: h.slice(0, 4), field: h.slice(4, 20) };
}
