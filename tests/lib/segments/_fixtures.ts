/**
 * Test fixtures for segments: a minimal stand-in for the registry's installation writes (hash,
 * user/seen/token/reach indexes, then `segment_reindex`, as the registry's scripts do) for tests
 * that need installations in odd states cheaply; the oracle that computes every segment's reach
 * sets from scratch with the pure TS evaluator; readers of the live state; and a seeded PRNG.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { registryKeys } from "../../../lib/registry/_keys.ts";
import { segmentKeys } from "../../../lib/segments/_keys.ts";
import { matchesRule } from "../../../lib/segments/rules.ts";
import type { RuleData } from "../../../lib/segments/schemas.ts";
import { withLibrary } from "../../../lib/segments/scripts.ts";
import { installationCodecLua } from "../../../lib/registry/installation_codec.ts";

const upsertLua = `
local prefix, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local f = cjson.decode(ARGV[4])
local key = prefix .. "inst:" .. id
local prev = redis.call("HGET", key, "userId") or ""
local prevtok = redis.call("HGET", key, "token") or ""
local num = { n = redis.call("HGET", key, "n") or nil }
local prevseen = redis.call("HGET", key, "lastSeenAt")
redis.call("DEL", key)
local flat = {}
for k, v in pairs(f) do flat[#flat + 1] = k; flat[#flat + 1] = tostring(v) end
inst_number(prefix, id, num)
flat[#flat + 1] = "n"; flat[#flat + 1] = num.n
redis.call("HSET", key, unpack(flat))
local user = f.userId or ""
if prev ~= "" and prev ~= user then redis.call("ZREM", prefix .. "user:" .. prev, id) end
if user ~= "" then redis.call("ZADD", prefix .. "user:" .. user, f.lastSeenAt or now, id) end
if prevseen then seen_put(prefix, tonumber(num.n), prevseen, false) end
seen_put(prefix, tonumber(num.n), f.lastSeenAt or now, true)
if prevtok ~= "" and prevtok ~= (f.token or "") then tok_del(prefix, prevtok, id) end
if (f.token or "") ~= "" then tok_set(prefix, f.token, id) end
local inst = seg_load_inst(prefix, id)
local ok = inst_reachable(inst)
local n = tonumber(num.n)
bit_put(prefix .. "rb:production", n, false)
bit_put(prefix .. "rb:development", n, false)
if ok then bit_put(prefix .. "rb:" .. inst.environment, n, true) end
segment_reindex(prefix, id, inst, ok, prev, now)
return 1
`;

const deleteLua = `
local prefix, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local key = prefix .. "inst:" .. id
local prev = redis.call("HGET", key, "userId") or ""
local tok = redis.call("HGET", key, "token") or ""
local num = redis.call("HGET", key, "n")
local prevseen = redis.call("HGET", key, "lastSeenAt")
redis.call("DEL", key)
inst_number_drop(prefix, num)
if prev ~= "" then redis.call("ZREM", prefix .. "user:" .. prev, id) end
if tok ~= "" then tok_del(prefix, tok, id) end
if num and prevseen then seen_put(prefix, tonumber(num), prevseen, false) end
if num then
  bit_put(prefix .. "rb:production", tonumber(num), false)
  bit_put(prefix .. "rb:development", tonumber(num), false)
end
segment_reindex(prefix, id, nil, false, prev, now, nil, tonumber(num))
return 1
`;

/** Installation fields as the registry stores them (attributes as a JSON string). */
export interface InstFields {
  id?: string;
  token?: string;
  environment?: "production" | "development";
  userId?: string;
  pushAuthorization?: string;
  attributes?: string;
  status?: string;
  statusAt?: string;
  lastSeenAt?: string;
  stale?: string;
}

/** Registry stand-in over one Redis. */
export function fakeRegistry(redis: Redis) {
  const upsert = redis.createScript<number>(withLibrary(upsertLua));
  const del = redis.createScript<number>(withLibrary(deleteLua));
  return {
    /** Writes the whole installation hash and reindexes, as a registry script would. */
    async write(appId: string, id: string, fields: InstFields, nowMs: number): Promise<void> {
      const clean = Object.fromEntries(
        Object.entries({ ...fields, id }).filter(([, v]) => v !== undefined),
      );
      await upsert.exec([registryKeys.installation(appId, id)], [
        registryKeys.prefix(appId),
        id,
        String(nowMs),
        JSON.stringify(clean),
      ]);
    },
    /** Deletes the installation hash and its indexes, then reindexes. */
    async remove(appId: string, id: string, nowMs: number): Promise<void> {
      await del.exec([registryKeys.installation(appId, id)], [
        registryKeys.prefix(appId),
        id,
        String(nowMs),
      ]);
    },
  };
}

/** Reach sets per segment id, each environment's ids sorted. */
export type ReachSets = Record<string, { production: string[]; development: string[] }>;

/** What the oracle needs to know of a segment besides the installations. */
export interface SegmentModel {
  rule: RuleData | null;
  members: ReadonlySet<string>;
}

/**
 * The oracle: every segment's reach sets computed from scratch with the pure TS evaluator, from
 * the installation hashes as stored (e.g. `loadInstallations` of tests/lib/registry/invariants.ts)
 * — no registry index is read, so a stale `user:` or `useg:` entry cannot hide a divergence.
 */
export function expectedReach(
  installations: ReadonlyMap<string, Record<string, string>>,
  segments: ReadonlyMap<string, SegmentModel>,
  nowMs: number,
): ReachSets {
  const byUser = new Map<string, [string, Record<string, string>][]>();
  for (const [id, inst] of installations) {
    if (!inst.userId) continue;
    if (!byUser.has(inst.userId)) byUser.set(inst.userId, []);
    byUser.get(inst.userId)!.push([id, inst]);
  }
  const out: ReachSets = {};
  for (const [sid, { rule, members }] of segments) {
    const result = { production: [] as string[], development: [] as string[] };
    for (const user of members) {
      for (const [id, inst] of byUser.get(user) ?? []) {
        const env = inst.environment;
        const reachable = inst.status === "active" && !!inst.token &&
          inst.pushAuthorization !== "denied" && inst.stale !== "1" &&
          (env === "production" || env === "development");
        if (!reachable) continue;
        const subject = {
          environment: env,
          pushAuthorization: inst.pushAuthorization,
          attributes: inst.attributes ? JSON.parse(inst.attributes) : {},
          lastSeenAt: inst.lastSeenAt,
        };
        if (matchesRule(rule, subject, nowMs)) result[env].push(id);
      }
    }
    result.production.sort();
    result.development.sort();
    out[sid] = result;
  }
  return out;
}

/** The user → segments index the model implies: every member, with its segments sorted. */
export function expectedUserSegments(
  segments: ReadonlyMap<string, SegmentModel>,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [sid, { members }] of segments) {
    for (const user of members) (out[user] ??= []).push(sid);
  }
  for (const sids of Object.values(out)) sids.sort();
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a < b ? -1 : 1));
}

const bitmapScanLua = `${installationCodecLua}
local cursor, ids = bits_scan(ARGV[1], KEYS[1], ARGV[2], 1000000)
return { cursor, ids }`;

/**
 * The installation ids whose bits are set in a reach bitmap (a segment's or the app's), read as
 * the scripts read them (bit n → ix → id).
 */
export async function bitmapIds(redis: Redis, appId: string, key: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, ids] = await redis.eval<string[], [string, string[]]>(
      bitmapScanLua,
      [key],
      [registryKeys.prefix(appId), cursor],
    );
    out.push(...(ids ?? []).map(String));
    cursor = String(next);
  } while (cursor !== "0");
  return out;
}

/** Every `useg:<user>` hash of an app (found by SCAN), as user → sorted segment ids. */
export async function readUserSegments(
  redis: Redis,
  appId: string,
): Promise<Record<string, string[]>> {
  const prefix = segmentKeys.userSegments(appId, "");
  const out: Record<string, string[]> = {};
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, { match: `${prefix}*`, count: 1000 });
    cursor = String(next);
    for (const key of keys.map(String)) {
      out[key.slice(prefix.length)] = (await redis.hkeys(key)).map(String).sort();
    }
  } while (cursor !== "0");
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a < b ? -1 : 1));
}

/** The live reach sets of every segment, sorted. */
export async function liveSets(
  redis: Redis,
  appId: string,
): Promise<Record<string, { production: string[]; development: string[] }>> {
  const out: Record<string, { production: string[]; development: string[] }> = {};
  for (const sid of (await redis.smembers(segmentKeys.index(appId))).map(String)) {
    out[sid] = {
      production: (await bitmapIds(redis, appId, segmentKeys.reachable(appId, sid, "production")))
        .sort(),
      development: (await bitmapIds(redis, appId, segmentKeys.reachable(appId, sid, "development")))
        .sort(),
    };
  }
  return out;
}

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
  };
}

/** A fresh app id in the apps format (tests never share keys). */
export function testAppId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `app_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A ReadableStream of lines. */
export function streamOf(text: string): ReadableStream<Uint8Array> {
  return new Response(text).body!;
}
