/**
 * The registry's user operations: binding (with the 100-per-user cap), unbinding, binding a
 * deleted installation, and erasing a user — including what an erase does to segments.
 */
import { UserNotFound } from "../../../lib/registry/mod.ts";
import { registryKeys } from "../../../lib/registry/_keys.ts";
import { createSegments } from "../../../lib/segments/mod.ts";
import { segmentKeys } from "../../../lib/segments/_keys.ts";
import { runSegmentSync } from "../../../jobs/segment_sync.ts";
import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { liveSets } from "../segments/_fixtures.ts";
import { tokenOf, withRegistry } from "./_fixtures.ts";
import { assertRegistryInvariants, tokenEntry } from "./invariants.ts";

const prod = "production" as const;
const dev = "development" as const;

Deno.test("bindUser caps a user at 100 installations, unbinding the least recently seen", async () => {
  await withRegistry(async ({ t, registry, appId, clock }) => {
    const ids: string[] = [];
    for (let i = 0; i < 101; i++) {
      clock.advance(10);
      const r = await registry.register(appId, { token: tokenOf(i + 1), environment: prod });
      assertOk(r.created);
      await registry.bindUser(appId, r.installationId, {
        secret: r.installationSecret,
        userId: "u",
      });
      ids.push(r.installationId);
    }
    const mine = await registry.userInstallations(appId, "u");
    assertEquals(mine.length, 100);
    assertOk(!mine.some((i) => i.installationId === ids[0]));
    const evicted = (await registry.get(appId, ids[0]))!;
    assertEquals(evicted.userId, null);
    assertEquals(evicted.status, "active", "evicted, not deleted");
    assertOk(registry.isReachable(evicted), "still reachable as anonymous");
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("unbindUser keeps the installation reachable as anonymous", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const r = await registry.register(appId, { token: tokenOf(1), environment: prod, userId: "u" });
    assertOk(r.created);
    const inst = await registry.unbindUser(appId, r.installationId, {
      secret: r.installationSecret,
    });
    assertEquals(inst.userId, null);
    assertOk(registry.isReachable(inst));
    assertEquals(await t.redis.exists(registryKeys.user(appId, "u")), 0);
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("eraseUser removes the user and their installations; unknown user throws", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const a = await registry.register(appId, { token: tokenOf(1), environment: prod, userId: "u" });
    const b = await registry.register(appId, {
      token: tokenOf(2),
      environment: "development",
      userId: "u",
    });
    const other = await registry.register(appId, {
      token: tokenOf(3),
      environment: prod,
      userId: "v",
    });
    assertEquals(await registry.eraseUser(appId, "u"), 2);
    assertEquals(await registry.get(appId, a.installationId), null);
    assertEquals(await registry.get(appId, b.installationId), null);
    assertEquals(await tokenEntry(t.redis, appId, tokenOf(1)), null);
    assertOk(await registry.get(appId, other.installationId));
    assertEquals(await registry.userInstallations(appId, "u"), []);
    await assertRejects(() => registry.eraseUser(appId, "u"), UserNotFound);
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("eraseUser takes the user out of every segment: reach sets, members, the user → segments index", async () => {
  await withRegistry(async ({ t, registry, appId, clock }) => {
    const segments = createSegments({ redis: t.redis, now: clock.now });
    await segments.put(appId, "all", { name: "all" });
    await segments.put(appId, "dev", {
      name: "dev",
      rule: { all: [{ attribute: "environment", op: "eq", value: dev }] },
    });
    await segments.updateMembers(appId, "all", { add: ["u", "v", "ghost"] });
    await segments.updateMembers(appId, "dev", { add: ["u"] });
    const a = await registry.register(appId, { token: tokenOf(1), environment: prod, userId: "u" });
    const b = await registry.register(appId, { token: tokenOf(2), environment: dev, userId: "u" });
    const c = await registry.register(appId, { token: tokenOf(3), environment: prod, userId: "v" });
    const sorted = (...ids: string[]) => ids.sort();
    assertEquals(await liveSets(t.redis, appId), {
      all: {
        production: sorted(a.installationId, c.installationId),
        development: [b.installationId],
      },
      dev: { production: [], development: [b.installationId] },
    });

    assertEquals(await registry.eraseUser(appId, "u"), 2);
    assertEquals(await liveSets(t.redis, appId), {
      all: { production: [c.installationId], development: [] },
      dev: { production: [], development: [] },
    });
    const members = async (sid: string) =>
      (await t.redis.smembers(segmentKeys.members(appId, sid))).map(String).sort();
    assertEquals(await members("all"), ["ghost", "v"]);
    assertEquals(await members("dev"), []);
    assertEquals(await t.redis.exists(segmentKeys.userSegments(appId, "u")), 0);
    assertEquals(await t.redis.hkeys(segmentKeys.userSegments(appId, "v")), ["all"]);
    const all = await segments.get(appId, "all");
    assertEquals([all.users, all.reachable], [2, { production: 1, development: 0 }]);
    assertEquals((await segments.get(appId, "dev")).users, 0);

    // A full rebuild finds nothing to correct.
    const report = await runSegmentSync({
      redis: t.redis,
      appIds: [appId],
      now: clock.now,
      staleAfterDays: 270,
      mode: "full",
      segments,
    });
    const synced = report.apps[0] as { segments: Record<string, { corrected: number }> };
    assertEquals([synced.segments.all.corrected, synced.segments.dev.corrected], [0, 0]);

    // A user known only as a segment member is erased from the segments; then unknown.
    assertEquals(await registry.eraseUser(appId, "ghost"), 0);
    assertEquals(await members("all"), ["v"]);
    assertEquals(await t.redis.exists(segmentKeys.userSegments(appId, "ghost")), 0);
    await assertRejects(() => registry.eraseUser(appId, "ghost"), UserNotFound);
    await assertRejects(() => registry.eraseUser(appId, "nobody"), UserNotFound);
    await assertRegistryInvariants(t.redis, appId);
  });
});

Deno.test("eraseUser during a replace upload's rebuild keeps the user out of the new members", async () => {
  await withRegistry(async ({ t, registry, appId, clock }) => {
    const segments = createSegments({ redis: t.redis, now: clock.now });
    await segments.put(appId, "s", { name: "s" });
    await segments.updateMembers(appId, "s", { add: ["u", "old"] });
    const a = await registry.register(appId, { token: tokenOf(1), environment: prod, userId: "u" });
    const c = await registry.register(appId, { token: tokenOf(2), environment: prod, userId: "v" });
    // The steps of uploadStream(mode: "replace") with the erase landing between two of them.
    const prefix = segmentKeys.prefix(appId);
    const staging = segmentKeys.staging(appId, "s", "up");
    const retired = segmentKeys.retired(appId, "s", "old");
    await t.redis.sadd(staging, "u", "v");
    await segments.scripts.buildStart.exec([prefix, staging], ["s", "b1", ""]);
    const now = String(clock.now());
    assertEquals(
      await segments.scripts.buildBatch.exec([prefix], ["s", "b1", now, "u", "v"]),
      2,
    );
    assertEquals(await registry.eraseUser(appId, "u"), 1);
    assertOk(Array.isArray(
      await segments.scripts.buildSwap.exec([prefix, retired], ["s", "b1", "1"]),
    ));
    await segments.scripts.retireBatch.exec([prefix, retired], ["s", "u", "old"]);

    assertEquals(await t.redis.smembers(segmentKeys.members(appId, "s")), ["v"]);
    assertEquals(await liveSets(t.redis, appId), {
      s: { production: [c.installationId], development: [] },
    });
    assertEquals(await registry.get(appId, a.installationId), null);
    assertEquals(await t.redis.exists(segmentKeys.userSegments(appId, "u")), 0);
    assertEquals(await t.redis.exists(segmentKeys.userSegments(appId, "old")), 0);
    assertEquals(await t.redis.hkeys(segmentKeys.userSegments(appId, "v")), ["s"]);
  });
});

Deno.test("a deleted installation binds no user until it registers a token again", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const segments = createSegments({ redis: t.redis });
    await segments.put(appId, "s", { name: "s" });
    await segments.updateMembers(appId, "s", { add: ["u"] });
    const r = await registry.register(appId, { token: tokenOf(1), environment: prod, userId: "u" });
    assertOk(r.created);
    const id = r.installationId;
    const secret = r.installationSecret;
    await registry.remove(appId, id, { secret });
    const bound = await registry.bindUser(appId, id, { secret, userId: "u" });
    assertEquals([bound.status, bound.userId], ["deleted", null]);
    const patched = await registry.update(appId, id, { secret, userId: "u", attributes: { a: 1 } });
    assertEquals([patched.status, patched.userId, patched.attributes], ["deleted", null, { a: 1 }]);
    assertEquals(await registry.userInstallations(appId, "u"), []);
    assertEquals(await t.redis.exists(registryKeys.user(appId, "u")), 0);
    await assertRegistryInvariants(t.redis, appId);
    // A new token is a registration: active again, and the userId sent with it binds.
    const back = await registry.update(appId, id, { secret, token: tokenOf(2), userId: "u" });
    assertEquals([back.status, back.userId], ["active", "u"]);
    assertEquals(await liveSets(t.redis, appId), { s: { production: [id], development: [] } });
    await assertRegistryInvariants(t.redis, appId);
  });
});
