/**
 * `assertRegistryInvariants(redis, appId)`: SCANs every registry key of an app and checks that
 * the indexes agree with the installation hashes. Reusable by any test that changes
 * installations (segments included).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { registryKeys, tokenIndexSlot } from "../../../lib/registry/_keys.ts";
import { decodeInstallation } from "../../../lib/registry/mod.ts";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { bitmapIds } from "../segments/_fixtures.ts";

type Hash = Record<string, string>;

async function scanAll(redis: Redis, match: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, { match, count: 1000 });
    cursor = String(next);
    out.push(...keys.map(String));
  } while (cursor !== "0");
  return out;
}

async function zmembers(redis: Redis, key: string): Promise<Map<string, number>> {
  const flat = await redis.zrange<string[]>(key, 0, -1, { withScores: true });
  const out = new Map<string, number>();
  for (let i = 0; i < flat.length; i += 2) out.set(String(flat[i]), Number(flat[i + 1]));
  return out;
}

const WEEK_MS = 7 * 86_400_000;

/**
 * The recency index of an app (`sw:<week>` bitmaps, listed in `sw`) as id → week; asserts that
 * no installation has a bit in two weeks and that every bitmap is listed.
 */
export async function seenWeeks(redis: Redis, appId: string): Promise<Map<string, number>> {
  const prefix = registryKeys.prefix(appId);
  const listed = (await redis.zrange<string[]>(registryKeys.seenWeeks(appId), 0, -1)).map(Number);
  const keys = await scanAll(redis, `${prefix}sw:*`);
  for (const key of keys) {
    const week = Number(key.slice(`${prefix}sw:`.length));
    assertOk(listed.includes(week), `week ${week} has a bitmap but is not listed in sw`);
  }
  const out = new Map<string, number>();
  for (const week of listed) {
    for (const id of await bitmapIds(redis, appId, registryKeys.seenWeek(appId, week))) {
      assertOk(!out.has(id), `${id} in weeks ${out.get(id)} and ${week}`);
      out.set(id, week);
    }
  }
  return out;
}

/** True when the stored hash is reachable (active, token, not denied, not stale). */
/**
 * The token index's answer for `token`, as the scripts' `tok_get` reads it: the id its entry
 * names whose installation holds the token, or null.
 */
export async function tokenEntry(redis: Redis, appId: string, token: string) {
  const { bucket, field } = tokenIndexSlot(token);
  const entry = await redis.hget<string>(registryKeys.tokenBucket(appId, bucket), field);
  const ids = entry ? String(entry).split(" ") : [];
  for (const id of ids) {
    const stored = decodeInstallation(
      await redis.hgetall<Record<string, unknown>>(registryKeys.installation(appId, id)),
    );
    if (stored?.token === token) return id;
  }
  return null;
}

/**
 * 1 when installation `id`'s bit is set in the app's reach bitmap for `env` (its number read
 * from its hash), else 0: the reach set's SISMEMBER.
 */
export async function inAppReach(
  redis: Redis,
  appId: string,
  env: "production" | "development",
  id: string,
): Promise<number> {
  const n = await redis.hget<string>(registryKeys.installation(appId, id), "n");
  if (n === null || n === undefined) return 0;
  return await redis.getbit(registryKeys.reachable(appId, env), Number(n));
}

export function hashReachable(h: Hash): boolean {
  return h.status === "active" && !!h.token && h.pushAuthorization !== "denied" &&
    h.stale !== "1";
}

/**
 * Reads every installation hash of an app, by id, decoded to the long field names (attributes as
 * a JSON object, unset fields absent) whatever layout it is stored in.
 */
export async function loadInstallations(redis: Redis, appId: string): Promise<Map<string, Hash>> {
  const prefix = registryKeys.prefix(appId);
  const keys = await scanAll(redis, `${prefix}inst:*`);
  const out = new Map<string, Hash>();
  for (const key of keys) {
    const h = await redis.hgetall<Hash>(key);
    const id = key.slice(`${prefix}inst:`.length);
    const stored = decodeInstallation(h);
    assertOk(stored, `${key}: not an installation`);
    if (stored.layout === 1) assertEquals(h!.id, id, `${key}: hash id does not match the key`);
    const { attributes, layout: _layout, ...fields } = stored;
    const flat: Hash = { id, attributes: JSON.stringify(attributes) };
    for (const [k, v] of Object.entries(fields)) if (v !== "") flat[k] = v;
    out.set(id, flat);
  }
  return out;
}

/**
 * Asserts, for one app: each token is held by at most one installation and indexed to it;
 * every token/user/reach/recency entry matches an installation hash and vice versa; no user has
 * more than 100 installations. Returns the installations for further checks.
 */
export async function assertRegistryInvariants(
  redis: Redis,
  appId: string,
): Promise<Map<string, Hash>> {
  const prefix = registryKeys.prefix(appId);
  const insts = await loadInstallations(redis, appId);

  const holders = new Map<string, string>();
  for (const [id, h] of insts) {
    if (!h.token) continue;
    assertOk(!holders.has(h.token), `token ${h.token} held by ${holders.get(h.token)} and ${id}`);
    holders.set(h.token, id);
    assertEquals(await tokenEntry(redis, appId, h.token), id, `token index of ${id}`);
  }
  // Every entry names installations holding a token that maps to it (either layout).
  for (const key of await scanAll(redis, `${prefix}tk:*`)) {
    const bucket = key.slice(`${prefix}tk:`.length);
    const entries = await redis.hgetall<Record<string, unknown>>(key) ?? {};
    for (const [field, ids] of Object.entries(entries)) {
      for (const id of String(ids).split(" ")) {
        const slot = tokenIndexSlot(insts.get(id)?.token ?? "");
        assertEquals(
          [slot.bucket, slot.field],
          [bucket, field],
          `orphan or stale token index ${bucket} ${field} → ${id}`,
        );
      }
    }
  }
  // Layout v2's token keys only exist until `deno task migrate` has run.
  assertEquals(await scanAll(redis, `${prefix}tok:*`), [], "layout-v2 token keys left");

  const seen = await seenWeeks(redis, appId);
  for (const [id, h] of insts) {
    if (h.status === "deleted") {
      assertOk(!seen.has(id), `deleted ${id} still in the recency index`);
      assertEquals(h.token ?? "", "", `deleted ${id} keeps a token`);
      assertEquals(h.userId ?? "", "", `deleted ${id} keeps a user`);
    } else {
      assertEquals(seen.get(id), Math.floor(Number(h.lastSeenAt) / WEEK_MS), `seen week of ${id}`);
    }
  }
  for (const id of seen.keys()) assertOk(insts.has(id), `orphan recency entry ${id}`);

  const bound = new Map<string, Set<string>>();
  for (const [id, h] of insts) {
    if (!h.userId) continue;
    if (!bound.has(h.userId)) bound.set(h.userId, new Set());
    bound.get(h.userId)!.add(id);
  }
  const userKeys = await scanAll(redis, `${prefix}user:*`);
  assertEquals(userKeys.length, bound.size, "user index keys vs bound users");
  for (const key of userKeys) {
    const userId = key.slice(`${prefix}user:`.length);
    const members = await zmembers(redis, key);
    assertOk(members.size <= 100, `user ${userId} has ${members.size} installations`);
    assertEquals(
      [...members.keys()].sort(),
      [...(bound.get(userId) ?? [])].sort(),
      `user index of ${userId}`,
    );
    for (const [id, score] of members) {
      assertEquals(score, Number(insts.get(id)!.lastSeenAt), `user score of ${id}`);
    }
  }

  for (const env of ["production", "development"] as const) {
    const members = new Set(await bitmapIds(redis, appId, registryKeys.reachable(appId, env)));
    const expected = new Set(
      [...insts].filter(([, h]) => hashReachable(h) && h.environment === env).map(([id]) => id),
    );
    assertEquals([...members].sort(), [...expected].sort(), `reach:${env}`);
  }
  return insts;
}
