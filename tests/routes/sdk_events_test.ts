import { readEventCounts } from "../../lib/events/mod.ts";
import { assertEquals } from "../support/assert.ts";
import { startHarness } from "../support/harness.ts";

const tok = (n: number) => n.toString(16).padStart(64, "0");

Deno.test("POST /v1/sdk/events counts once per (send, installation, type) and rejects other apps' installations", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const other = await h.createTestApp();
    const headers = { "x-app-key": app.appKey };
    const mine = await h.call("POST", "/v1/sdk/installations", {
      headers,
      body: { token: tok(1), environment: "production" },
    });
    const theirs = await h.call("POST", "/v1/sdk/installations", {
      headers: { "x-app-key": other.appKey },
      body: { token: tok(2), environment: "production" },
    });
    const id = mine.body.installationId;
    const res = await h.call("POST", "/v1/sdk/events", {
      headers,
      body: {
        events: [
          { type: "delivered", sendId: "s1", installationId: id, at: "2025-01-01T00:00:00Z" },
          { type: "delivered", sendId: "s1", installationId: id },
          { type: "opened", sendId: "s1", installationId: id },
          { type: "opened", sendId: "s1", installationId: theirs.body.installationId },
          { type: "opened", sendId: "s2", installationId: id },
        ],
      },
    });
    assertEquals(res.status, 202);
    assertEquals(res.body, { accepted: 3, duplicates: 1, rejected: 1 });
    const again = await h.call("POST", "/v1/sdk/events", {
      headers,
      body: { events: [{ type: "opened", sendId: "s1", installationId: id }] },
    });
    assertEquals(again.body, { accepted: 0, duplicates: 1, rejected: 0 });
    assertEquals(await readEventCounts(h.testRedis.redis, app.appId, "s1"), {
      delivered: 1,
      opened: 1,
    });
    assertEquals(await readEventCounts(h.testRedis.redis, app.appId, "s2"), {
      delivered: 0,
      opened: 1,
    });
    assertEquals(await readEventCounts(h.testRedis.redis, app.appId, "none"), {
      delivered: 0,
      opened: 0,
    });
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/sdk/events rejects a malformed or oversized batch whole (400)", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const headers = { "x-app-key": app.appKey };
    const event = { type: "opened", sendId: "s1", installationId: "in_x" };
    const before = await h.testRedis.redis.dbsize();
    for (
      const body of [
        { events: [] },
        { events: Array.from({ length: 101 }, () => event) },
        { events: [{ ...event, type: "clicked" }] },
        { events: [event, { ...event, at: "yesterday" }] },
        { events: [{ ...event, extra: 1 }] },
      ]
    ) {
      const res = await h.call("POST", "/v1/sdk/events", { headers, body });
      assertEquals(res.status, 400);
      assertEquals(res.body.error.code, "validation_failed");
    }
    assertEquals(await h.testRedis.redis.dbsize(), before);
  } finally {
    await h.stop();
  }
});
