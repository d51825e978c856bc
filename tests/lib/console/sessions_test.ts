import { createConsoleSessions, createSignInThrottle } from "../../../lib/console/mod.ts";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";

Deno.test("createConsoleSessions stores only the id's hash, renews on use and ends idle, old or destroyed sessions", async () => {
  const r = await startTestRedis();
  try {
    let clock = 1_000_000;
    const sessions = createConsoleSessions({
      redis: r.redis,
      idleMs: 60_000,
      maxAgeMs: 150_000,
      now: () => clock,
    });
    const { id, session } = await sessions.create({
      scope: "app",
      appId: "app_x",
      credentialHash: "h",
    });
    const keys = await r.redis.keys("ep:v1:console:sess:*");
    assertEquals(keys.length, 1);
    assertEquals(keys[0].includes(id), false, "the raw id is never stored");
    assertEquals((await sessions.read(id))?.csrf, session.csrf);
    assertOk((await r.redis.pttl(keys[0])) <= 60_000);
    assertEquals(await sessions.read("not-an-id"), null);
    // One character changed (a fixed "A" was the id itself one time in 64).
    const altered = `${id.slice(0, -1)}${id.endsWith("A") ? "B" : "A"}`;
    assertEquals(await sessions.read(altered), null);

    // Past the absolute lifetime the session ends even when in use.
    clock += 151_000;
    assertEquals(await sessions.read(id), null);
    assertEquals(await r.redis.exists(keys[0]), 0);

    const second = await sessions.create({ scope: "admin", appId: null, credentialHash: "a" });
    assertOk(await sessions.read(second.id));
    await sessions.destroy(second.id);
    assertEquals(await sessions.read(second.id), null);
  } finally {
    await r.stop();
  }
});

Deno.test("createSignInThrottle lets a few failures through, then doubles the wait; success clears it", async () => {
  const r = await startTestRedis();
  try {
    let clock = 5_000_000;
    const throttle = createSignInThrottle({ redis: r.redis, freeAttempts: 3, now: () => clock });
    for (let i = 0; i < 2; i++) await throttle.fail("1.2.3.4");
    assertEquals(await throttle.retryAfterSeconds("1.2.3.4"), 0);
    await throttle.fail("1.2.3.4");
    assertEquals(await throttle.retryAfterSeconds("1.2.3.4"), 1);
    await throttle.fail("1.2.3.4");
    assertEquals(await throttle.retryAfterSeconds("1.2.3.4"), 2);
    assertEquals(await throttle.retryAfterSeconds("5.6.7.8"), 0, "per client");
    clock += 2_000;
    assertEquals(await throttle.retryAfterSeconds("1.2.3.4"), 0);
    await throttle.succeed("1.2.3.4");
    await throttle.fail("1.2.3.4");
    assertEquals(await throttle.retryAfterSeconds("1.2.3.4"), 0);
  } finally {
    await r.stop();
  }
});
