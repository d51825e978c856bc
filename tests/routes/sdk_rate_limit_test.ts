import { assertEquals, assertOk } from "../support/assert.ts";
import { startHarness } from "../support/harness.ts";

const limits = { services: { sdkRateLimit: { limit: 3, windowSeconds: 60 } } };

Deno.test("SDK routes answer 429 rate_limited with Retry-After per app key and client", async () => {
  // Behind two trusted proxies: the client is the second X-Forwarded-For entry from the right.
  const h = await startHarness({ ...limits, trustedProxyHops: 2 });
  try {
    const app = await h.createTestApp();
    const other = await h.createTestApp();
    const call = (client: string, appKey = app.appKey) =>
      h.call("POST", "/v1/sdk/events", {
        headers: { "x-app-key": appKey, "x-forwarded-for": `6.6.6.6, ${client}, 10.0.0.1` },
        body: { events: [{ type: "opened", sendId: "s", installationId: "in_x" }] },
      });
    for (let i = 0; i < 3; i++) assertEquals((await call("1.1.1.1")).status, 202);
    const limited = await call("1.1.1.1");
    assertEquals(limited.status, 429);
    assertEquals(limited.body.error.code, "rate_limited");
    const retryAfter = Number(limited.headers.get("retry-after"));
    assertOk(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    // Another client of the same app, and the same client of another app, have their own window.
    assertEquals((await call("2.2.2.2")).status, 202);
    assertEquals((await call("1.1.1.1", other.appKey)).status, 202);
  } finally {
    await h.stop();
  }
});

Deno.test("a client rotating X-Forwarded-For gets no fresh window unless proxies are trusted", async () => {
  const h = await startHarness(limits);
  try {
    const app = await h.createTestApp();
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const res = await h.call("POST", "/v1/sdk/installations", {
        headers: { "x-app-key": app.appKey, "x-forwarded-for": `203.0.113.${i}` },
        body: { token: (i + 1).toString(16).repeat(64), environment: "production" },
      });
      statuses.push(res.status);
    }
    assertEquals(statuses, [201, 201, 201, 429, 429]);
  } finally {
    await h.stop();
  }
});
