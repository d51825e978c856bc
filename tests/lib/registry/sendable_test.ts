import {
  createRegistry,
  type Installation,
  type SendableInstallation,
} from "../../../lib/registry/mod.ts";
import { assertEquals } from "../../support/assert.ts";
import { createV1Writer } from "../../support/registry_v1/mod.ts";
import { manualClock, tokenOf, withRegistry } from "./_fixtures.ts";

const pick = (inst: SendableInstallation | Installation | null) =>
  inst && {
    installationId: inst.installationId,
    token: inst.token,
    environment: inst.environment,
    status: inst.status,
    pushAuthorization: inst.pushAuthorization,
    stale: inst.stale,
    registeredAtMs: "registeredAtMs" in inst
      ? inst.registeredAtMs
      : inst.registeredAt
      ? Date.parse(inst.registeredAt)
      : 0,
  };

Deno.test("getSendable reads what getMany reads of every installation a push decides on", async () => {
  await withRegistry(async ({ registry, clock, appId }) => {
    const made: Array<{ installationId: string; installationSecret?: string }> = [];
    for (let i = 0; i < 6; i++) {
      clock.advance(1_000);
      made.push(
        await registry.register(appId, {
          token: tokenOf(i + 1),
          environment: i === 1 ? "development" : "production",
          userId: `u${i}`,
          attributes: { appVersion: "1.0.0" },
        }),
      );
    }
    const ids = made.map((m) => m.installationId);
    const secret = (i: number) => made[i].installationSecret!;
    await registry.update(appId, ids[2], { secret: secret(2), pushAuthorization: "denied" });
    await registry.remove(appId, ids[3], { secret: secret(3) });
    await registry.markUnregistered(appId, ids[4], tokenOf(5), clock.now() + 1);
    await registry.markStale(appId, clock.now() + 1, [ids[5]]);
    const all = [...ids, "in_unknown"];
    const full = await registry.getMany(appId, all);
    assertEquals((await registry.getSendable(appId, all)).map(pick), full.map(pick));
    assertEquals(full.at(-1), null);
    // Each case the skip rules tell apart is among them.
    assertEquals(full.map((inst) => inst && [inst.status, inst.pushAuthorization, inst.stale]), [
      ["active", "authorized", false],
      ["active", "authorized", false],
      ["active", "denied", false],
      ["deleted", "authorized", false],
      ["unregistered", "authorized", false],
      ["active", "authorized", true],
      null,
    ]);
  });
});

Deno.test("getSendable reads a hash not yet migrated whole, instead of skipping it", async () => {
  await withRegistry(async ({ t, appId }) => {
    const clock = manualClock();
    const v1 = createV1Writer(t.redis, clock.now);
    const { installationId } = await v1.register(appId, {
      token: tokenOf(9),
      environment: "development",
      attributes: {},
    });
    const registry = createRegistry({ redis: t.redis, now: clock.now });
    const [sendable] = await registry.getSendable(appId, [installationId]);
    assertEquals(pick(sendable), pick((await registry.getMany(appId, [installationId]))[0]));
    assertEquals(sendable?.token, tokenOf(9));
    assertEquals(sendable?.environment, "development");
  });
});

Deno.test("sendable_read.lua answers n values per id, nil where a field or the hash is missing", async () => {
  await withRegistry(async ({ t, appId }) => {
    const prefix = `ep:v1:{${appId}}:`;
    await t.redis.hset(`${prefix}inst:a`, { s: "secret", t: "tok-a", rg: "1000" });
    await t.redis.hset(`${prefix}inst:c`, { s: "secret", e: "d", st: "deleted", x: "1" });
    const lua = await Deno.readTextFile(
      new URL("../../../lib/registry/scripts/sendable_read.lua", import.meta.url),
    );
    const reply = await t.redis.eval(lua, [prefix], ["3", "t", "e", "rg", "a", "b", "c"]);
    assertEquals(reply, ["tok-a", null, "1000", null, null, null, null, "d", null]);
    // No ids: an empty answer, not an error.
    assertEquals(await t.redis.eval(lua, [prefix], ["2", "t", "e"]), []);
  });
});

Deno.test("getSendable decodes the stored defaults and times like the full reading", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const prefix = `ep:v1:{${appId}}:`;
    // Layout v9 leaves out production, authorized and active; "p" is how v2–v8 stored production.
    await t.redis.hset(`${prefix}inst:v9`, { s: "secret", t: "tok", rg: "1735689600123" });
    await t.redis.hset(`${prefix}inst:v2`, { s: "secret", t: "tok2", e: "p", rg: "12.7" });
    await t.redis.hset(`${prefix}inst:no_time`, { s: "secret", a: "denied" });
    const ids = ["v9", "v2", "no_time"];
    const sendable = await registry.getSendable(appId, ids);
    assertEquals(sendable.map(pick), (await registry.getMany(appId, ids)).map(pick));
    assertEquals(sendable.map((s) => s?.registeredAtMs), [1735689600123, 12, 0]);
    assertEquals(sendable.map((s) => s?.environment), ["production", "production", "production"]);
    assertEquals(sendable[2]?.pushAuthorization, "denied");
    assertEquals(sendable[2]?.token, null);
  });
});
