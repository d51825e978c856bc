import { createRegistry, migrateRegistry, storedSecretHash } from "../../../lib/registry/mod.ts";
import { sha256HexSync } from "../../../lib/auth/secrets.ts";
import { registryKeys } from "../../../lib/registry/_keys.ts";
import { createSegments } from "../../../lib/segments/mod.ts";
import { segmentKeys } from "../../../lib/segments/_keys.ts";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { createV1Writer } from "../../support/registry_v1/mod.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { manualClock, tokenOf } from "./_fixtures.ts";
import { bitmapIds } from "../segments/_fixtures.ts";
import { assertRegistryInvariants, tokenEntry } from "./invariants.ts";

const appId = "app_00000000000000000000m1gr";

async function keyCount(redis: import("@upstash/redis").Redis, match: string) {
  let n = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, {
      match: `${registryKeys.prefix(appId)}${match}`,
      count: 1000,
    });
    cursor = String(next);
    n += keys.length;
  } while (cursor !== "0");
  return n;
}

async function encodings(redis: import("@upstash/redis").Redis, ids: string[]) {
  const out: string[] = [];
  for (const id of ids) {
    out.push(String(
      await redis.eval("return redis.call('OBJECT', 'ENCODING', KEYS[1])", [
        registryKeys.installation(appId, id),
      ], []),
    ));
  }
  return out;
}

Deno.test("migrateRegistry rewrites data written by the v1 layout, resumably and idempotently", async () => {
  const t = await startTestRedis();
  const clock = manualClock();
  try {
    const { redis } = t;
    const segments = createSegments({ redis, now: clock.now });
    await segments.put(appId, "vip", {
      name: "VIP",
      rule: { all: [{ attribute: "appVersion", op: "semverGte", value: "2.0.0" }] },
    });
    // Data as the previous layouts wrote it: attributes as a JSON object make the hash a
    // hashtable, one `tok:` string per token, `useg:<user>` sets.
    const v1 = createV1Writer(redis, clock.now);
    await v1.addMembers(appId, "vip", ["u0", "u1", "u2"]);
    const made: Array<{ installationId: string; installationSecret: string }> = [];
    for (let i = 0; i < 40; i++) {
      clock.advance(1000);
      made.push(
        await v1.register(appId, {
          token: tokenOf(i + 1),
          environment: i % 4 === 0 ? "development" : "production",
          userId: i % 5 === 4 ? undefined : `u${i % 7}`,
          attributes: {
            appVersion: `${1 + (i % 3)}.0.0`,
            osVersion: "17.5.1",
            locale: "en_US",
            timezone: "Europe/Berlin",
            deviceModel: "iPhone15,2",
            sdkVersion: "1.4.0",
            beta: i % 2 === 0,
            cohort: i,
          },
        }),
      );
    }
    const ids = made.map((m) => m.installationId);
    assertEquals(new Set(await encodings(redis, ids)), new Set(["hashtable"]));
    assertEquals(await keyCount(redis, "tok:*"), 40);
    assertEquals(await redis.type(segmentKeys.userSegments(appId, "u0")), "set");
    const registry = createRegistry({ redis, now: clock.now });
    // Today's code reads the old layout as it is.
    const before = await registry.getMany(appId, ids);
    assertOk(before.every((i) => i !== null && i.attributes.appVersion !== undefined));
    const reachBefore = await redis.smembers(
      segmentKeys.legacyReachable(appId, "vip", "production"),
    );
    const devBefore = await redis.smembers(
      segmentKeys.legacyReachable(appId, "vip", "development"),
    );
    assertOk(reachBefore.length > 0);
    const appReachBefore = {
      production: await redis.smembers(registryKeys.legacyReachable(appId, "production")),
      development: await redis.smembers(registryKeys.legacyReachable(appId, "development")),
    };
    assertEquals(appReachBefore.production.length + appReachBefore.development.length, 40);
    const dirtyBefore = await redis.smembers(segmentKeys.legacyDirty(appId));
    assertOk(dirtyBefore.length > 0);
    // A crashed sync's processing copy, holding one id and one that no longer exists.
    await redis.sadd(segmentKeys.legacyDirty(appId, ":run"), dirtyBefore[0], "in_gone");
    const seenBefore = await redis.zrange<string[]>(registryKeys.legacySeen(appId), 0, -1);
    assertEquals(seenBefore.length, 40);

    // A run that stops after two batches, then a second that finishes.
    const partial = await migrateRegistry({ redis, appIds: [appId], batch: 10, maxBatches: 2 });
    assertEquals(partial.apps[0].done, false);
    assertOk(partial.apps[0].converted > 0 && partial.apps[0].converted < 40);
    const full = await migrateRegistry({ redis, appIds: [appId], batch: 10 });
    assertEquals(full.apps[0].done, true);
    // 40 hashes, 40 tokens, 3 users' segment sets, 40 numbers, 40 bits in the app's reach
    // bitmaps and its 2 old sets deleted, then (below), one bit per reachable member's
    // installation and the segment's old reach sets deleted.
    const bits = reachBefore.length + devBefore.length;
    const sets = (reachBefore.length > 0 ? 1 : 0) + (devBefore.length > 0 ? 1 : 0);
    // 40 bits in the recency index and the old sorted set deleted; the changed ids and the
    // crashed sync's copy as bitmaps (the gone id dropped, counted as current).
    assertEquals(
      full.apps[0].converted,
      40 + 40 + 3 + 40 + 40 + 2 + 40 + 1 + bits + sets + dirtyBefore.length + 1,
    );
    assertEquals(
      (await bitmapIds(redis, appId, segmentKeys.dirty(appId))).sort(),
      [...dirtyBefore].sort(),
    );
    assertEquals(await bitmapIds(redis, appId, segmentKeys.dirtyProcessing(appId)), [
      dirtyBefore[0],
    ]);
    assertEquals(await redis.exists(segmentKeys.legacyDirty(appId)), 0);
    assertEquals(await redis.exists(segmentKeys.legacyDirty(appId, ":run")), 0);
    assertEquals(await redis.exists(registryKeys.legacySeen(appId)), 0);
    const seenAfter: string[] = [];
    await registry.scanSeen(
      appId,
      { after: -Infinity, until: clock.now() },
      (batch) => Promise.resolve(void seenAfter.push(...batch)),
    );
    assertEquals(seenAfter.sort(), [...seenBefore].sort());
    for (const env of ["production", "development"] as const) {
      assertEquals(
        (await bitmapIds(redis, appId, registryKeys.reachable(appId, env))).sort(),
        appReachBefore[env].sort(),
      );
      assertEquals(await redis.exists(registryKeys.legacyReachable(appId, env)), 0);
    }
    assertEquals(
      (await bitmapIds(redis, appId, segmentKeys.reachable(appId, "vip", "development"))).sort(),
      devBefore.sort(),
    );
    assertEquals(await redis.exists(segmentKeys.legacyReachable(appId, "vip", "production")), 0);

    assertEquals(await keyCount(redis, "tok:*"), 0);
    assertOk(await keyCount(redis, "tk:*") > 0);
    for (const user of ["u0", "u1", "u2"]) {
      assertEquals(await redis.hkeys(segmentKeys.userSegments(appId, user)), ["vip"]);
    }

    assertEquals(new Set(await encodings(redis, ids)), new Set(["listpack"]));
    for (const id of ids) {
      const raw = await redis.hgetall<Record<string, string>>(registryKeys.installation(appId, id));
      assertEquals([raw!.id, raw!.secretHash, raw!.attributes], [undefined, undefined, undefined]);
    }
    assertEquals(await registry.getMany(appId, ids), before);
    assertEquals(
      (await bitmapIds(redis, appId, segmentKeys.reachable(appId, "vip", "production"))).sort(),
      reachBefore.sort(),
    );
    await assertRegistryInvariants(redis, appId);
    // Secrets issued before the migration still work.
    for (const m of made.slice(0, 5)) {
      assertOk(await registry.verifySecret(appId, m.installationId, m.installationSecret));
      const updated = await registry.update(appId, m.installationId, {
        secret: m.installationSecret,
        attributes: { appVersion: "9.0.0" },
      });
      assertEquals(updated.attributes.appVersion, "9.0.0");
    }

    // A new device with a migrated token takes it over: the token index was moved.
    const taker = await registry.register(appId, { token: tokenOf(40), environment: "production" });
    assertEquals(await tokenEntry(redis, appId, tokenOf(40)), taker.installationId);
    assertEquals((await registry.get(appId, ids[39]))!.status, "replaced");
    await assertRegistryInvariants(redis, appId);

    // Again: nothing left to do, nothing changes.
    const snapshot = await registry.getMany(appId, ids);
    const again = await migrateRegistry({ redis, appIds: [appId], batch: 10 });
    assertEquals(again.apps[0].done, true);
    assertEquals(await registry.getMany(appId, ids), snapshot);
  } finally {
    await t.stop();
  }
});

Deno.test("layouts v8 and v9 store a smaller hash, and the migration rewrites older hashes into it", async () => {
  const t = await startTestRedis();
  const clock = manualClock();
  try {
    const { redis } = t;
    const registry = createRegistry({ redis, now: clock.now });
    const made = await registry.register(appId, { token: tokenOf(1), environment: "production" });
    assertOk(made.created);
    const key = registryKeys.installation(appId, made.installationId);
    const raw = async () => await redis.hgetall<Record<string, string>>(key) ?? {};
    const at = String(clock.now());
    // A new installation stores registeredAt only; the others read as equal to it.
    assertEquals([(await raw()).rg, (await raw()).c, (await raw()).sa, (await raw()).ls], [
      at,
      undefined,
      undefined,
      undefined,
    ]);
    const fresh = (await registry.get(appId, made.installationId))!;
    const iso = new Date(clock.now()).toISOString();
    assertEquals([fresh.registeredAt, fresh.statusAt, fresh.lastSeenAt], [iso, iso, iso]);

    // A later SDK update moves lastSeenAt alone: it is stored, the rest still defaults.
    clock.advance(5000);
    const updated = await registry.update(appId, made.installationId, {
      secret: made.installationSecret,
      attributes: { locale: "de_DE" },
    });
    assertEquals(updated.lastSeenAt, new Date(clock.now()).toISOString());
    assertEquals(updated.registeredAt, iso);
    assertEquals([(await raw()).ls, (await raw()).c], [String(clock.now()), undefined]);

    // A hash as layout v7 stored it (every time explicit, attributes JSON-encoded under their
    // v2 names, production as "p", the secret hash in hex) reads the same, and the migration
    // rewrites it into the current encoding.
    await redis.hdel(key, "L", "s");
    await redis.hset(key, {
      c: at,
      sa: at,
      e: "p",
      "@l": '"de_DE"',
      ".cohort": "7",
      s: sha256HexSync(made.installationSecret).slice(0, 32),
    });
    const before = await registry.get(appId, made.installationId);
    assertEquals(before!.attributes, { locale: "de_DE", cohort: 7 });
    assertOk(await registry.verifySecret(appId, made.installationId, made.installationSecret));
    await redis.hset(registryKeys.prefix(appId) + "migrate", { layout: 7 });
    const report = await migrateRegistry({ redis, appIds: [appId] });
    assertEquals(report.apps[0].done, true);
    const after = await raw();
    assertEquals([after.c, after.sa, after.e, after["@l"], after[".cohort"]], [
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    assertEquals([after.L, after[":cohort"]], ["de_DE", "=7"]);
    assertEquals(after.s, storedSecretHash(made.installationSecret));
    assertEquals(await registry.get(appId, made.installationId), before);
    // The secret still authenticates SDK calls (the scripts compare the base64url form).
    const again = await registry.update(appId, made.installationId, {
      secret: made.installationSecret,
      attributes: { cohort: 8 },
    });
    assertEquals(again.attributes, { locale: "de_DE", cohort: 8 });
    await assertRegistryInvariants(redis, appId);
  } finally {
    await t.stop();
  }
});
