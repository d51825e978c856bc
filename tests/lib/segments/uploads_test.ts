/**
 * Replace uploads racing other rebuilds of the same segment. The race is made deterministic by
 * running the rival inside the upload's rebuild, just before its swap (found by the property
 * test's racing replace step).
 */
import type { Redis } from "@upstash/redis";
import { Conflict } from "../../../lib/errors.ts";
import { createRegistry, type Registry } from "../../../lib/registry/mod.ts";
import { createSegments, type Segments } from "../../../lib/segments/mod.ts";
import { segmentKeys } from "../../../lib/segments/_keys.ts";
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { startTestRedis, waitFor } from "../../support/redis_server.ts";
import { tokenOf } from "../registry/_fixtures.ts";
import { liveSets, readUserSegments, streamOf, testAppId } from "./_fixtures.ts";

async function withStore(
  fn: (ctx: { redis: Redis; registry: Registry; segments: Segments; appId: string }) => Promise<
    void
  >,
) {
  const t = await startTestRedis();
  try {
    const now = () => Date.UTC(2025, 0, 1);
    await fn({
      redis: t.redis,
      registry: createRegistry({ redis: t.redis, now }),
      segments: createSegments({ redis: t.redis, now }),
      appId: testAppId(),
    });
  } finally {
    await t.stop();
  }
}

/** Runs `rival` once, the first time any rebuild of the store is about to swap. */
function beforeFirstSwap(segments: Segments, rival: () => Promise<unknown>) {
  const swap = segments.scripts.buildSwap;
  const original = swap.exec.bind(swap);
  let fired = false;
  swap.exec = async (keys: string[], args: string[]) => {
    if (!fired) {
      fired = true;
      await rival();
    }
    return await original(keys, args);
  };
}

const replace = (segments: Segments, appId: string, users: string[]) =>
  segments.uploadStream(appId, "s", streamOf(users.join("\n")), {
    format: "text",
    mode: "replace",
  });

for (const rival of ["a rule change", "the daily job's rebuild"] as const) {
  Deno.test(`a replace upload still replaces the members when ${rival} supersedes its rebuild`, async () => {
    await withStore(async ({ redis, registry, segments, appId }) => {
      const ids: Record<string, string> = {};
      for (const [i, user] of ["a", "b", "c", "d"].entries()) {
        const environment = i % 2 ? "development" : "production";
        const r = await registry.register(appId, {
          token: tokenOf(i + 1),
          environment,
          userId: user,
        });
        ids[user] = r.installationId;
      }
      await segments.put(appId, "s", { name: "s" });
      await segments.updateMembers(appId, "s", { add: ["a", "b"] });
      beforeFirstSwap(segments, () =>
        rival === "a rule change"
          ? segments.put(appId, "s", {
            name: "s",
            rule: { all: [{ attribute: "environment", op: "eq", value: "production" }] },
          })
          : segments.rebuild(appId, "s"));

      const result = await replace(segments, appId, ["c", "d"]);

      assertEquals(result.members, 2);
      assertEquals((await redis.smembers(segmentKeys.members(appId, "s"))).sort(), ["c", "d"]);
      assertEquals((await liveSets(redis, appId)).s, {
        production: [ids.c],
        development: rival === "a rule change" ? [] : [ids.d],
      });
      assertEquals(await readUserSegments(redis, appId), { c: ["s"], d: ["s"] });
    });
  });
}

Deno.test("a rule change whose rebuild a replace upload supersedes answers normally", async () => {
  await withStore(async ({ redis, registry, segments, appId }) => {
    await registry.register(appId, {
      token: tokenOf(1),
      environment: "development",
      userId: "a",
    });
    const c = await registry.register(appId, {
      token: tokenOf(2),
      environment: "development",
      userId: "c",
    });
    await segments.put(appId, "s", { name: "s" });
    await segments.updateMembers(appId, "s", { add: ["a"] });
    beforeFirstSwap(segments, () => replace(segments, appId, ["c"]));
    const rule = { all: [{ attribute: "environment", op: "eq" as const, value: "development" }] };

    const { segment } = await segments.put(appId, "s", { name: "s", rule });

    assertEquals([segment.rule, segment.users], [rule, 1]);
    assertEquals((await liveSets(redis, appId)).s, {
      production: [],
      development: [c.installationId],
    });
  });
});

Deno.test("of two racing replace uploads the later one wins; the earlier gets 409 and leaves no index entries", async () => {
  await withStore(async ({ redis, segments, appId }) => {
    await segments.put(appId, "s", { name: "s" });
    await segments.updateMembers(appId, "s", { add: ["a"] });
    let later: Promise<unknown> = Promise.resolve();
    beforeFirstSwap(segments, () => later = replace(segments, appId, ["c", "d"]));

    await assertRejects(() => replace(segments, appId, ["a", "b", "x"]), Conflict);
    await later;

    assertEquals((await redis.smembers(segmentKeys.members(appId, "s"))).sort(), ["c", "d"]);
    assertEquals(await readUserSegments(redis, appId), { c: ["s"], d: ["s"] });
    const [, staging] = await redis.scan("0", { match: `ep:v1:{${appId}}:seg:s:*`, count: 1000 });
    assertEquals(staging.filter((k) => String(k).includes(":staging:")), []);
  });
});

Deno.test("a replace upload that started first but streams longest gets 409; the later one stands", async () => {
  await withStore(async ({ redis, segments, appId }) => {
    await segments.put(appId, "s", { name: "s" });
    let feed!: ReadableStreamDefaultController<Uint8Array>;
    const slow = new ReadableStream<Uint8Array>({ start: (c) => void (feed = c) });
    const earlier = segments.uploadStream(appId, "s", slow, { format: "text", mode: "replace" });
    feed.enqueue(new TextEncoder().encode("a\nb\n"));
    await waitFor(async () =>
      String(await redis.hget(segmentKeys.segment(appId, "s"), "replaceSrc") ?? "") !== ""
    );

    assertEquals((await replace(segments, appId, ["c"])).members, 1);
    feed.enqueue(new TextEncoder().encode("x\n"));
    feed.close();
    await assertRejects(() => earlier, Conflict);

    assertEquals(await redis.smembers(segmentKeys.members(appId, "s")), ["c"]);
    assertEquals(await readUserSegments(redis, appId), { c: ["s"] });
  });
});
