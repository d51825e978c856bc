import { createRegistry, type SendableInstallation } from "../../../lib/registry/mod.ts";
import { assertEquals } from "../../support/assert.ts";
import { createV1Writer } from "../../support/registry_v1/mod.ts";
import { manualClock, tokenOf, withRegistry } from "./_fixtures.ts";

const pick = (inst: SendableInstallation | null) =>
  inst && {
    installationId: inst.installationId,
    token: inst.token,
    environment: inst.environment,
    status: inst.status,
    pushAuthorization: inst.pushAuthorization,
    stale: inst.stale,
    registeredAt: inst.registeredAt,
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
