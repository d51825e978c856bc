import { assertEquals, assertRejects } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";

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
