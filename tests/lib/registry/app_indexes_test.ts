import { assertEquals, assertOk } from "../../support/assert.ts";
import { tokenOf, withRegistry } from "./_fixtures.ts";

Deno.test("scanReachable stops near the count it was asked for, even in a dense bitmap, and a pass sees every id once", async () => {
  await withRegistry(async ({ registry, appId }) => {
    const ids = new Set<string>();
    for (let i = 0; i < 1_500; i++) {
      const made = await registry.register(appId, {
        token: tokenOf(i + 1),
        environment: "production",
      });
      ids.add(made.installationId);
    }
    // 1,500 installations are 188 bytes of bitmap: one 4 KiB read. A step used to map that whole
    // read back to ids (a campaign's first batch waited on 32,768 of them).
    const seen: string[] = [];
    let cursor = "0";
    let steps = 0;
    do {
      const step = await registry.scanReachable(appId, "production", cursor, 100);
      assertOk(step.installationIds.length <= 107, `${step.installationIds.length} ids in a step`);
      seen.push(...step.installationIds);
      cursor = step.cursor;
      steps++;
    } while (cursor !== "0");
    assertEquals(seen.length, ids.size);
    assertEquals(new Set(seen), ids);
    assertOk(steps >= 15, `${steps} steps`);
  });
});
