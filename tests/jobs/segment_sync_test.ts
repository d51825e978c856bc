import { assertEquals, assertOk } from "../support/assert.ts";
import { startTestRedis } from "../support/redis_server.ts";
import { runSegmentSync, runSyncCli } from "../../jobs/segment_sync.ts";
import { acquireSyncLock, createSegments } from "../../lib/segments/mod.ts";
import { testAppId } from "../lib/segments/_fixtures.ts";

Deno.test("runSegmentSync skips an app whose lock another run holds", async () => {
  const t = await startTestRedis();
  try {
    const appId = testAppId();
    const segments = createSegments({ redis: t.redis });
    await segments.put(appId, "s", { name: "S" });
    const lock = await acquireSyncLock(t.redis, segments.scripts, appId);
    assertOk(lock);
    const skipped = await runSegmentSync({ redis: t.redis, appIds: [appId], staleAfterDays: 270 });
    assertEquals(skipped.apps, [{ appId, status: "locked" }]);
    // A stale holder cannot release a lock it no longer owns.
    await t.redis.set(`ep:v1:{${appId}}:segsync:lock`, "someone-else");
    await lock.release();
    assertEquals(await t.redis.get(`ep:v1:{${appId}}:segsync:lock`), "someone-else");
  } finally {
    await t.stop();
  }
});

Deno.test("runSyncCli prints progress and the report, and rejects unknown flags", async () => {
  const t = await startTestRedis();
  try {
    const appId = testAppId();
    await createSegments({ redis: t.redis }).put(appId, "s", { name: "S" });
    const lines: string[] = [];
    const code = await runSyncCli(["--app", appId, "--full"], {
      redis: t.redis,
      staleAfterDays: 270,
      print: (l) => lines.push(l),
    });
    assertEquals(code, 0);
    assertOk(lines.some((l) => l.startsWith(`[sync] ${appId} rebuild s`)));
    const report = JSON.parse(lines.at(-1)!);
    assertEquals(report.apps[0].segments.s.mode, "full");
    assertEquals(
      await runSyncCli(["--bogus"], { redis: t.redis, staleAfterDays: 270, print: () => {} }),
      2,
    );
  } finally {
    await t.stop();
  }
});
