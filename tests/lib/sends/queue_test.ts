import { assertEquals } from "../../support/assert.ts";
import { startTestRedis, waitFor } from "../../support/redis_server.ts";
import { createQueue } from "../../../lib/sends/mod.ts";

Deno.test("Queue.read hands an item to one consumer; XAUTOCLAIM gives a stalled one to another", async () => {
  const r = await startTestRedis();
  try {
    const queue = createQueue({ redis: r.redis });
    await queue.ensureGroup();
    await queue.push({ kind: "batch", appId: "a", sendId: "s", seq: 3, ids: ["x", "y"] });
    const [first] = await queue.read("w1", 1);
    assertEquals(first.item, { kind: "batch", appId: "a", sendId: "s", seq: 3, ids: ["x", "y"] });
    assertEquals(await queue.read("w2", 1), []);
    assertEquals(await queue.reclaim("w2", 60_000, 1), []);
    // w1 "dies": after the idle time w2 takes the item over.
    const taken = await waitFor(async () => (await queue.reclaim("w2", 50, 1))[0], {
      timeoutMs: 2_000,
    });
    assertEquals(taken.id, first.id);
    await queue.ack(taken.id);
    assertEquals(await queue.length(), 0);
    assertEquals(await queue.reclaim("w3", 0, 1), []);
  } finally {
    await r.stop();
  }
});

Deno.test("Queue.touch keeps a live worker's item from being reclaimed", async () => {
  const r = await startTestRedis();
  try {
    const queue = createQueue({ redis: r.redis });
    await queue.push({
      kind: "resolve",
      appId: "a",
      sendId: "s",
      at: { source: 1, cursor: "42", seq: 9 },
    });
    const [entry] = await queue.read("w1", 1);
    assertEquals(entry.item, {
      kind: "resolve",
      appId: "a",
      sendId: "s",
      at: { source: 1, cursor: "42", seq: 9 },
    });
    const idle = async () => {
      const info = await r.redis.xpending("ep:v1:sendq", "workers", "-", "+", 10) as unknown[][];
      return Number(info[0][2]);
    };
    await waitFor(async () => (await idle()) >= 30, { timeoutMs: 2_000 });
    await queue.touch("w1", entry.id);
    assertEquals((await idle()) < 30, true);
  } finally {
    await r.stop();
  }
});

Deno.test("Queue.due and unschedule: one worker owns each due send", async () => {
  const r = await startTestRedis();
  try {
    const queue = createQueue({ redis: r.redis });
    await queue.schedule("a", "s1", 1_000);
    await queue.schedule("a", "s2", 5_000);
    assertEquals(await queue.due(2_000, 10), [{ appId: "a", sendId: "s1" }]);
    assertEquals(await queue.unschedule("a", "s1"), true);
    assertEquals(await queue.unschedule("a", "s1"), false);
    assertEquals(await queue.due(2_000, 10), []);
  } finally {
    await r.stop();
  }
});
