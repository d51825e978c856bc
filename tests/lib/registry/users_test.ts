/**
 * The registry's user operations: binding (with the 100-per-user cap), unbinding, binding a
 * deleted installation, and erasing a user.
 */
import { registryKeys, UserNotFound } from "../../../lib/registry/mod.ts";
import { createSegments } from "../../../lib/segments/mod.ts";
import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { liveSets } from "../segments/_fixtures.ts";
import { tokenOf, withRegistry } from "./_fixtures.ts";
import { assertRegistryInvariants } from "./invariants.ts";

const prod = "production" as const;

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
    assertEquals(await t.redis.get(registryKeys.token(appId, tokenOf(1))), null);
    assertOk(await registry.get(appId, other.installationId));
    assertEquals(await registry.userInstallations(appId, "u"), []);
    await assertRejects(() => registry.eraseUser(appId, "u"), UserNotFound);
    await assertRegistryInvariants(t.redis, appId);
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
