import { readEventCounts } from "../../lib/sends/mod.ts";
import { assertEquals } from "../support/assert.ts";
import { startHarness } from "../support/harness.ts";
import { type SendEnv, startSendEnv, token } from "../lib/sends/_env.ts";

async function waitSendTo(env: SendEnv, installationIds: string[]): Promise<string> {
  const res = await env.h.call("POST", `/v1/apps/${env.app.appId}/sends`, {
    headers: env.auth,
    body: { audience: { installationIds }, notification: { title: "Hi" }, wait: true },
  });
  assertEquals(res.status, 200);
  return res.body.sendId;
}

Deno.test("POST /v1/sdk/events counts once per (send, installation, type), only for the send's accepted recipients", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, mock } = env;
    const headers = { "x-app-key": app.appKey };
    const reached = await env.register({ token: token(1) });
    const notTargeted = await env.register({ token: token(2) });
    const gone = await env.register({ token: token(3) });
    mock.device(token(3), { unregisteredAt: Date.now() + 60_000 });
    const other = await h.createTestApp();
    const theirs = await h.call("POST", "/v1/sdk/installations", {
      headers: { "x-app-key": other.appKey },
      body: { token: token(4), environment: "production" },
    });
    const s1 = await waitSendTo(env, [reached, gone]);
    const s2 = await waitSendTo(env, [reached]);
    const before = await h.testRedis.redis.dbsize();
    const rejectedOnly = await h.call("POST", "/v1/sdk/events", {
      headers,
      body: {
        events: [
          { type: "opened", sendId: s1, installationId: notTargeted },
          { type: "delivered", sendId: s1, installationId: gone },
          { type: "opened", sendId: s1, installationId: theirs.body.installationId },
          { type: "opened", sendId: "snd_000000000000000000000000", installationId: reached },
        ],
      },
    });
    assertEquals(rejectedOnly.status, 202);
    assertEquals(rejectedOnly.body, { accepted: 0, duplicates: 0, rejected: 4 });
    assertEquals(await h.testRedis.redis.dbsize(), before, "rejected events write nothing");

    const res = await h.call("POST", "/v1/sdk/events", {
      headers,
      body: {
        events: [
          { type: "delivered", sendId: s1, installationId: reached, at: "2025-01-01T00:00:00Z" },
          { type: "delivered", sendId: s1, installationId: reached },
          { type: "opened", sendId: s1, installationId: reached },
          { type: "opened", sendId: s2, installationId: reached },
        ],
      },
    });
    assertEquals(res.status, 202);
    assertEquals(res.body, { accepted: 3, duplicates: 1, rejected: 0 });
    const again = await h.call("POST", "/v1/sdk/events", {
      headers,
      body: { events: [{ type: "opened", sendId: s1, installationId: reached }] },
    });
    assertEquals(again.body, { accepted: 0, duplicates: 1, rejected: 0 });
    const view = await env.waitSend(s1, (v) => v.status === "completed");
    assertEquals(view.counts.accepted, 1);
    assertEquals(view.counts.delivered, 1);
    assertEquals(view.counts.opened, 1);
    assertEquals(await readEventCounts(h.testRedis.redis, app.appId, s2), {
      delivered: 0,
      opened: 1,
    });
  } finally {
    await env.stop();
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
