import updateAppLua from "../../../lib/apps/scripts/update_app.lua" with { type: "text" };
import { assertEquals } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";

Deno.test("update_app.lua applies a patch, never recreates an app and never drops the last credential", async () => {
  const t = await startTestRedis();
  try {
    const redis = t.redis;
    const key = "ep:v1:{app_test}:app";
    const run = (set: Record<string, string>, unset: string[]) =>
      redis.eval<string[], number>(updateAppLua, [key], [
        JSON.stringify(set),
        JSON.stringify(unset),
      ]);

    assertEquals(await run({ name: "x" }, []), 0, "a missing app is not recreated");
    assertEquals(await redis.exists(key), 0);

    await redis.hset(key, { name: "a", apnsKeySealed: "k", apnsKeyId: "K" });
    assertEquals(await run({ certSealed: "c" }, []), 1);
    assertEquals(await run({}, ["apnsKeySealed", "apnsKeyId"]), 1, "the certificate remains");
    assertEquals(await run({ name: "b" }, ["certSealed"]), -1, "the last credential stays");
    assertEquals(await redis.hgetall(key), { name: "a", certSealed: "c" }, "nothing written");
    assertEquals(await run({ apnsKeySealed: "k2" }, ["certSealed"]), 1, "a swap in one step");
    assertEquals(await redis.hgetall(key), { name: "a", apnsKeySealed: "k2" });
  } finally {
    await t.stop();
  }
});
