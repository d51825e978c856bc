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

Deno.test("POST /v1/sdk/events settles a recipient a crash left Unconfirmed: it moves to accepted, in either order", async () => {
  const env = await startSendEnv();
  try {
    const { h, app } = env;
    const headers = { "x-app-key": app.appKey };
    const [a, b, c, d] = await env.registerMany(4);
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: env.auth,
      body: { audience: { installationIds: [a, b, c, d] }, notification: { title: "Hi" } },
    });
    assertEquals(res.status, 202);
    const sendId = res.body.sendId;
    // A worker claimed a, b and d for batch 0 and died before writing their outcomes.
    const store = h.services.sends.store;
    assertEquals((await store.claim(app.appId, sendId, 0, [a, b, d])).flags, [
      "new",
      "new",
      "new",
    ]);
    // d's device reports the push before the send has recorded anything for d.
    const early = await h.call("POST", "/v1/sdk/events", {
      headers,
      body: { events: [{ type: "delivered", sendId, installationId: d }] },
    });
    assertEquals(early.body, { accepted: 1, duplicates: 0, rejected: 0 });
    const workers = env.startWorkers(1);
    const done = await env.waitSend(sendId, (v) => v.status === "completed");
    await workers.stop();
    // The retried batch (skip mode) reports a and b Unconfirmed; d's receipt already proved it.
    assertEquals(done.counts.accepted, 2);
    assertEquals(done.counts.failed, 2);
    assertEquals(done.failures, { Unconfirmed: 2 });
    const late = await h.call("POST", "/v1/sdk/events", {
      headers,
      body: {
        events: [
          { type: "delivered", sendId, installationId: a },
          { type: "opened", sendId, installationId: a },
          { type: "opened", sendId, installationId: b },
          { type: "delivered", sendId, installationId: a },
        ],
      },
    });
    assertEquals(late.body, { accepted: 3, duplicates: 1, rejected: 0 });
    const view = await h.services.sends.get(app.appId, sendId);
    assertEquals(view.counts, {
      targeted: 4,
      attempted: 4,
      accepted: 4,
      failed: 0,
      invalidated: 0,
      skipped: 0,
      delivered: 2,
      opened: 2,
    });
    assertEquals(view.failures, {});
    assertEquals(
      view.counts.targeted,
      view.counts.accepted + view.counts.failed + view.counts.skipped,
    );
  } finally {
    await env.stop();
  }
});
