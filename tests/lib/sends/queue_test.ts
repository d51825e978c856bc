import { assertEquals } from "../../support/assert.ts";
import { startTestRedis, waitFor } from "../../support/redis_server.ts";
import {
  createQueue,
  createSendStore,
  type NewSend,
  partitionOf,
  QUEUE_PARTITIONS,
  sweepIntents,
} from "../../../lib/sends/mod.ts";
import { silentLogger } from "../../../lib/observability/logger.ts";
import { sendKeys } from "../../../lib/sends/_keys.ts";

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
      const stream = sendKeys.queue(partitionOf("a"));
      const info = await r.redis.xpending(stream, "workers", "-", "+", 10) as unknown[][];
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

Deno.test("Queue spreads apps over its partitions and every reader sees every partition", async () => {
  const r = await startTestRedis();
  try {
    const queue = createQueue({ redis: r.redis });
    await queue.ensureGroup();
    const apps = Array.from({ length: 40 }, (_, i) => `app_${i}`);
    const used = new Set(apps.map(partitionOf));
    assertEquals(used.size, QUEUE_PARTITIONS);
    for (const appId of apps) {
      await queue.push({ kind: "batch", appId, sendId: "s", seq: 0, ids: ["x"] });
    }
    const seen: string[] = [];
    while (true) {
      const [entry] = await queue.read("w1", 1);
      if (!entry) break;
      seen.push(entry.item!.appId);
      await queue.ack(entry.id);
    }
    assertEquals(seen.sort(), [...apps].sort());
    assertEquals(await queue.length(), 0);
  } finally {
    await r.stop();
  }
});

Deno.test("Queue drains the stream and schedule written before partitioning", async () => {
  const r = await startTestRedis();
  try {
    await r.redis.xadd(sendKeys.legacyQueue(), "*", {
      k: "r",
      a: "a",
      s: "old",
      src: "0",
      cur: "0",
      seq: "0",
    });
    await r.redis.zadd(sendKeys.legacyScheduled(), { score: 1_000, member: "a/sched" });
    const queue = createQueue({ redis: r.redis });
    await queue.ensureGroup();
    const [entry] = await queue.read("w1", 1);
    assertEquals(entry.item?.sendId, "old");
    await queue.ack(entry.id);
    assertEquals(await r.redis.xlen(sendKeys.legacyQueue()), 0);
    assertEquals(await queue.due(2_000, 10), [{ appId: "a", sendId: "sched" }]);
    assertEquals(await r.redis.exists(sendKeys.legacyScheduled()), 0);
  } finally {
    await r.stop();
  }
});

function newSend(appId: string, sendId: string, status: NewSend["status"], at: number | null) {
  return {
    appId,
    sendId,
    status,
    audience: { kind: "all" as const },
    environment: null,
    ratePerSecond: null,
    scheduleAt: at,
    body: '{"aps":{}}',
    headers: { "apns-topic": "com.example" },
  };
}

Deno.test("Queue.settle acts once, so a sweeper never enqueues a send its request already did", async () => {
  const r = await startTestRedis();
  try {
    const queue = createQueue({ redis: r.redis });
    await queue.ensureGroup();
    await queue.intend("a", "s1", 1_000);
    assertEquals(await queue.settle("a", "s1", { push: true }), true);
    assertEquals(await queue.settle("a", "s1", { push: true }), false);
    assertEquals(await queue.length(), 1);
    assertEquals(await queue.staleIntents(Infinity, 10), []);
  } finally {
    await r.stop();
  }
});

Deno.test("sweepIntents queues, reschedules or drops what a failed request left half-done", async () => {
  const r = await startTestRedis();
  try {
    const queue = createQueue({ redis: r.redis });
    const store = createSendStore({ redis: r.redis, now: () => 1_000 });
    await queue.ensureGroup();
    // Each request wrote its intent and its send, then failed before the queue write.
    for (
      const [sendId, status, at] of [["q", "queued", null], ["s", "scheduled", 90_000]] as const
    ) {
      await queue.intend("a", sendId, 1_000);
      await store.create(newSend("a", sendId, status, at));
    }
    // This one failed before the send was written.
    await queue.intend("a", "never", 1_000);
    const deps = { queue, store, logger: silentLogger };
    assertEquals(await sweepIntents(deps, { now: 30_000 }), 0, "within the grace period");
    assertEquals(await sweepIntents(deps, { now: 62_000 }), 3);
    const [entry] = await queue.read("w1", 1);
    assertEquals(entry.item, {
      kind: "resolve",
      appId: "a",
      sendId: "q",
      at: { source: 0, cursor: "0", seq: 0 },
    });
    assertEquals(await queue.due(100_000, 10), [{ appId: "a", sendId: "s" }]);
    assertEquals(await queue.due(80_000, 10), []);
    assertEquals(await queue.staleIntents(Infinity, 10), []);
    assertEquals(await sweepIntents(deps, { now: 200_000 }), 0);
  } finally {
    await r.stop();
  }
});
