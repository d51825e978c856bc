import { assertEquals, assertOk } from "../../support/assert.ts";
import { tokenOf, withRegistry } from "./_fixtures.ts";
import { registryKeys } from "../../../lib/registry/_keys.ts";
import { mulberry32 } from "../../support/seeded_random.ts";

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

Deno.test("scanReachable answers step by step exactly as one HGET per set bit would, over gaps, erased ids and 4 KiB reads", async () => {
  await withRegistry(async ({ t, registry, appId }) => {
    const prefix = registryKeys.prefix(appId);
    const random = mulberry32(23);
    // Numbers spread over 9 KiB of bitmap (three 4 KiB reads): runs, gaps, lone bits. A tenth of
    // them have lost their id (erased meanwhile): the scan skips them.
    const idOf = new Map<number, string>();
    const bits = new Set<number>();
    for (let n = 0; n < 9 * 1024 * 8; n++) {
      const dense = Math.floor(n / 2048) % 3 === 0;
      if (random() < (dense ? 0.9 : 0.01)) bits.add(n);
    }
    const p = t.redis.pipeline();
    for (const n of bits) {
      p.setbit(`${prefix}rb:production`, n, 1);
      if (random() < 0.9) {
        idOf.set(n, `i${n}`);
        p.hset(`${prefix}ix:${Math.floor(n / 128)}`, { [String(n % 128)]: `i${n}` });
      }
    }
    await p.exec();
    const size = Math.ceil((Math.max(...bits) + 1) / 8);
    // The reference: the scan as it was, bit by bit, one lookup each.
    const reference = (cursor: number, want: number) => {
      let at = cursor;
      const ids: string[] = [];
      const limit = Math.min(size, at + 65_536);
      while (at < limit && ids.length < want) {
        const stop = Math.min(limit, at + 4_096);
        let i = at;
        for (; i < stop;) {
          for (let b = 0; b < 8; b++) {
            const n = i * 8 + b;
            if (bits.has(n) && idOf.has(n)) ids.push(idOf.get(n)!);
          }
          i++;
          if (ids.length >= want) break;
        }
        at = i;
      }
      return { cursor: at >= size ? "0" : String(at), ids };
    };
    for (const want of [1, 7, 100, 500, 3_000, 100_000]) {
      let cursor = "0";
      let steps = 0;
      do {
        const step = await registry.scanReachable(appId, "production", cursor, want);
        const expected = reference(Number(cursor), want);
        assertEquals(step.installationIds, expected.ids, `want ${want}, cursor ${cursor}`);
        assertEquals(step.cursor, expected.cursor, `want ${want}, cursor ${cursor}`);
        cursor = step.cursor;
        steps++;
      } while (cursor !== "0" && steps < 10_000);
      assertEquals(cursor, "0");
    }
  });
});
