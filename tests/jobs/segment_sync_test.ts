import { assertEquals, assertOk } from "../support/assert.ts";
import { startTestRedis } from "../support/redis_server.ts";
import { runSegmentSync, runSyncCli } from "../../jobs/segment_sync.ts";
import { acquireSyncLock, createSegments } from "../../lib/segments/mod.ts";
import { testAppId } from "../lib/segments/_fixtures.ts";
import { appKeys } from "../../lib/apps/_keys.ts";

Deno.test("runSegmentSync skips an app whose lock another run holds", async () => {
  const t = await startTestRedis();
  try {
    const appId = testAppId();
    const segments = createSegments({ redis: t.redis });
    await segments.put(appId, "s", { name: "S" });
    const lock = await acquireSyncLock(t.redis, appId);
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
    await t.redis.sadd(appKeys.index(), appId);
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

Deno.test("runSyncCli names an unknown --app, syncs nothing and exits 1", async () => {
  const t = await startTestRedis();
  try {
    const appId = testAppId();
    await createSegments({ redis: t.redis }).put(appId, "s", { name: "S" });
    await t.redis.sadd(appKeys.index(), appId);
    const lines: string[] = [];
    const print = (l: string) => lines.push(l);
    const deps = { redis: t.redis, staleAfterDays: 270, print };
    assertEquals(await runSyncCli(["--app", appId, "--app", "app_nope"], deps), 1);
    assertEquals(lines.length, 1);
    assertOk(lines[0].startsWith("no app app_nope here: nothing was synced."), lines[0]);
    assertEquals((await createSegments({ redis: t.redis }).get(appId, "s")).syncedAt, null);
    assertEquals(await runSyncCli(["--app"], deps), 2);
  } finally {
    await t.stop();
  }
});
