import { assertEquals } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { createRegistry } from "../../../lib/registry/mod.ts";
import { registryKeys } from "../../../lib/registry/_keys.ts";
import { createSegments, runSegmentSync } from "../../../lib/segments/mod.ts";
import { segmentKeys } from "../../../lib/segments/_keys.ts";
import { manualClock, tokenOf } from "../registry/_fixtures.ts";
import { bitmapIds } from "./_fixtures.ts";

const appId = "app_0000000000000000000d1rty";

Deno.test("the changed-installations bitmap survives a sync that crashed after taking it", async () => {
  const t = await startTestRedis();
  const clock = manualClock();
  try {
    const { redis } = t;
    const segments = createSegments({ redis, now: clock.now });
    const registry = createRegistry({ redis, now: clock.now });
    await segments.put(appId, "s", { name: "S" });
    await segments.updateMembers(appId, "s", { add: ["u1", "u2"] });
    const sync = async () => {
      const report = await runSegmentSync({
        redis,
        appIds: [appId],
        now: clock.now,
        staleAfterDays: 45,
        mode: "incremental",
        segments,
        registry,
      });
      return report.apps[0] as { status: string; reconciled: number };
    };
    const live = segmentKeys.reachable(appId, "s", "production");
    // Drift the daily pass must repair: an installation's bit cleared behind the scripts' back.
    const drift = async (id: string) => {
      const n = Number(await redis.hget(registryKeys.installation(appId, id), "n"));
      await redis.setbit(live, n, 0);
    };

    const a = await registry.register(appId, {
      token: tokenOf(1),
      environment: "production",
      userId: "u1",
    });
    await drift(a.installationId);
    assertEquals(await bitmapIds(redis, appId, segmentKeys.dirty(appId)), [a.installationId]);
    // A sync takes the changed installations, then dies before reconciling them.
    const taken = await segments.scripts.dirtyTake.exec([
      segmentKeys.dirty(appId),
      segmentKeys.dirtyProcessing(appId),
    ], []);
    assertEquals(Number(taken), 1);
    assertEquals(await redis.exists(segmentKeys.dirty(appId)), 0);

    // Meanwhile another installation changes.
    const b = await registry.register(appId, {
      token: tokenOf(2),
      environment: "production",
      userId: "u2",
    });
    await drift(b.installationId);
    assertEquals(await bitmapIds(redis, appId, live), []);

    // The next sync reconciles both: the crashed run's copy merged with the new changes.
    const report = await sync();
    assertEquals([report.status, report.reconciled], ["synced", 2]);
    assertEquals(
      (await bitmapIds(redis, appId, live)).sort(),
      [a.installationId, b.installationId].sort(),
    );
    assertEquals(await redis.exists(segmentKeys.dirtyProcessing(appId)), 0);
    assertEquals(await redis.exists(segmentKeys.dirty(appId)), 0);
    // Nothing changed since: the next pass has nothing to reconcile.
    assertEquals((await sync()).reconciled, 0);
  } finally {
    await t.stop();
  }
});
