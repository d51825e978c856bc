import { assertEquals, assertOk } from "../support/assert.ts";
import { startHarness } from "../support/harness.ts";

Deno.test("SDK routes answer 429 rate_limited with Retry-After per app key and client", async () => {
  const h = await startHarness({ services: { sdkRateLimit: { limit: 3, windowSeconds: 60 } } });
  try {
    const app = await h.createTestApp();
    const call = (client: string) =>
      h.call("POST", "/v1/sdk/events", {
        headers: { "x-app-key": app.appKey, "x-forwarded-for": `${client}, 10.0.0.1` },
        body: { events: [{ type: "opened", sendId: "s", installationId: "in_x" }] },
      });
    for (let i = 0; i < 3; i++) assertEquals((await call("1.1.1.1")).status, 202);
    const limited = await call("1.1.1.1");
    assertEquals(limited.status, 429);
    assertEquals(limited.body.error.code, "rate_limited");
    const retryAfter = Number(limited.headers.get("retry-after"));
    assertOk(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    // Another client of the same app has its own window.
    assertEquals((await call("2.2.2.2")).status, 202);
    // Without X-Forwarded-For (app.request has no connection info) the client is "unknown".
    const anon = await h.call("POST", "/v1/sdk/installations", {
      headers: { "x-app-key": app.appKey },
      body: { token: "ab".repeat(32), environment: "production" },
    });
    assertEquals(anon.status, 201);
  } finally {
    await h.stop();
  }
});
