import { assertEquals, assertRejects } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { startTestCluster } from "../../support/redis_cluster.ts";
import { CrossSlotBatch } from "../../../lib/redis/mod.ts";
import { Unavailable } from "../../../lib/errors.ts";

Deno.test("TCP requester runs commands, scripts with EVALSHA fallback, pipelines", async () => {
  const t = await startTestRedis();
  try {
    const { redis } = t;
    await redis.set("k", "123");
    assertEquals(await redis.get("k"), "123");
    assertEquals(await redis.incr("n"), 1);
    assertEquals(await redis.get("missing"), null);
    const script = redis.createScript<string[]>("return {KEYS[1], ARGV[1]}");
    assertEquals(await script.exec(["a"], ["b"]), ["a", "b"]);
    const p = redis.pipeline();
    p.set("x", "1");
    p.incr("k");
    p.get("x");
    assertEquals(await p.exec(), ["OK", 124, "1"]);
    await assertRejects(() => redis.hget("x", "f"), Error, "WRONGTYPE");
  } finally {
    await t.stop();
  }
});

Deno.test("TCP requester answers Redis' 'not now' errors (CLUSTERDOWN, TRYAGAIN, LOADING…) as Unavailable", async () => {
  const t = await startTestRedis();
  try {
    for (
      const reply of [
        "CLUSTERDOWN The cluster is down",
        "TRYAGAIN Multiple keys",
        "LOADING Redis is loading",
      ]
    ) {
      const script = t.redis.createScript(`return redis.error_reply("${reply}")`);
      await assertRejects(() => script.exec(["k"], []), Unavailable);
    }
    const bug = t.redis.createScript(`return redis.error_reply("ERR a bug")`);
    await assertRejects(() => bug.exec(["k"], []), Error, "ERR a bug");
  } finally {
    await t.stop();
  }
});

Deno.test("cluster requester: batches stay in one slot (the error names the keys); SCAN by slot or over every master", async () => {
  const cluster = await startTestCluster();
  try {
    const { redis } = cluster;
    const p = redis.pipeline();
    p.set("ep:v1:{app_a}:x", "1");
    p.get("ep:v1:{app_b}:y");
    await assertRejects(
      () => p.exec(),
      CrossSlotBatch,
      "its keys span 2: ep:v1:{app_a}:x (slot 3062), ep:v1:{app_b}:y (slot 15253)",
    );
    const tx = redis.multi();
    tx.set("ep:v1:{app_a}:x", "1");
    tx.incr("ep:v1:{app_a}:n");
    assertEquals(await tx.exec(), ["OK", 1]);
    // Keys of 30 tags over the three masters; SCAN finds one tag's keys on its master, and
    // every key when the pattern names no single slot.
    for (let i = 0; i < 30; i++) {
      for (let k = 0; k < 3; k++) await redis.set(`scan:{t${i}}:${k}`, "v");
    }
    const scanAll = async (match: string) => {
      const found: string[] = [];
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, { match, count: 10 });
        cursor = String(next);
        found.push(...keys.map(String));
      } while (cursor !== "0");
      return found.sort();
    };
    assertEquals(await scanAll("scan:{t7}:*"), ["scan:{t7}:0", "scan:{t7}:1", "scan:{t7}:2"]);
    assertEquals((await scanAll("scan:*")).length, 90);
  } finally {
    await cluster.stop();
  }
});
