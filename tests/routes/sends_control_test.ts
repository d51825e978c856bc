import { assertEquals, assertOk } from "../support/assert.ts";
import { waitFor } from "../support/redis_server.ts";
import { startSendEnv, token } from "../lib/sends/_env.ts";

const alert = { title: "Hello", body: "Summer sale" };

Deno.test("POST /v1/apps/:appId/sends/:sendId/cancel stops a running send within a second", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth, mock } = env;
    await env.registerMany(200);
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { all: true }, notification: alert, ratePerSecond: 20 },
    });
    const workers = env.startWorkers(2);
    await waitFor(() => mock.stats.accepted >= 5, { timeoutMs: 5_000 });
    const cancel = await h.call("POST", `/v1/apps/${app.appId}/sends/${res.body.sendId}/cancel`, {
      headers: auth,
    });
    assertEquals(cancel.status, 200);
    assertEquals(cancel.body.status, "cancelled");
    const atCancel = mock.stats.accepted;
    // Workers re-check the status before every chunk and while they wait for rate tokens, then
    // drop the send's work items: once the queue is empty nothing more can go out.
    await waitFor(async () => (await h.services.sends.queue.length()) === 0, {
      timeoutMs: 3_000,
      what: "the workers to drop the cancelled send's work items",
    });
    assertOk(
      mock.stats.accepted - atCancel <= 20,
      `sent ${mock.stats.accepted - atCancel} after cancel`,
    );
    const after = mock.stats.accepted;
    await workers.stop();
    assertEquals(mock.stats.accepted, after);
    const view = await env.waitSend(res.body.sendId, () => true);
    assertEquals(view.status, "cancelled");
    assertOk(view.finishedAt);
    assertEquals(
      view.counts.targeted,
      view.counts.accepted + view.counts.failed + view.counts.skipped,
    );
    assertOk(view.counts.accepted < 200);
    const again = await h.call("POST", `/v1/apps/${app.appId}/sends/${res.body.sendId}/cancel`, {
      headers: auth,
    });
    assertEquals(again.status, 200);
  } finally {
    await env.stop();
  }
});

Deno.test("POST /v1/apps/:appId/sends honours ratePerSecond across workers", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth } = env;
    await env.registerMany(60);
    const started = Date.now();
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { all: true }, notification: alert, ratePerSecond: 40 },
    });
    const workers = env.startWorkers(3);
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed");
    await workers.stop();
    const seconds = (Date.now() - started) / 1000;
    assertEquals(done.counts.accepted, 60);
    // 60 at 40/s with an 8-token burst: at least (60 - 8) / 40 = 1.3 s.
    assertOk(seconds >= 1.2, `took ${seconds}s`);
  } finally {
    await env.stop();
  }
});

Deno.test("POST /v1/apps/:appId/sends with a future scheduleAt stays scheduled until due; cancel unschedules", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth, mock } = env;
    await env.registerMany(3);
    const url = `/v1/apps/${app.appId}/sends`;
    const later = await h.call("POST", url, {
      headers: auth,
      body: {
        audience: { all: true },
        notification: alert,
        scheduleAt: new Date(Date.now() + 1_000).toISOString(),
      },
    });
    assertEquals(later.status, 202);
    assertEquals(later.body.status, "scheduled");
    const never = await h.call("POST", url, {
      headers: auth,
      body: {
        audience: { all: true },
        notification: { title: "never" },
        scheduleAt: new Date(Date.now() + 1_000).toISOString(),
      },
    });
    const cancelled = await h.call("POST", `${url}/${never.body.sendId}/cancel`, { headers: auth });
    assertEquals(cancelled.body.status, "cancelled");
    const workers = env.startWorkers(1, { scheduleEveryMs: 50 });
    const view = await env.waitSend(later.body.sendId, (v) => v.status !== "scheduled");
    assertOk(Date.now() >= Date.parse(view.scheduleAt!), "promoted before it was due");
    const done = await env.waitSend(later.body.sendId, (v) => v.status === "completed");
    await workers.stop();
    assertEquals(done.counts.accepted, 3);
    assertEquals(mock.stats.accepted, 3);
    assertEquals((await h.services.sends.get(app.appId, never.body.sendId)).counts.targeted, 0);
  } finally {
    await env.stop();
  }
});

Deno.test("POST /v1/apps/:appId/sends fails the send on a credential error and records it on the app", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth, mock } = env;
    await env.registerMany(10);
    mock.removeKey(app.key.keyId);
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { all: true }, notification: alert },
    });
    const workers = env.startWorkers(1);
    const failed = await env.waitSend(res.body.sendId, (v) => v.status === "failed");
    await workers.stop();
    assertEquals(failed.error?.reason, "InvalidProviderToken");
    assertEquals(failed.counts.accepted, 0);
    // The refused requests went to APNs: the funnel shows them, not a row of zeros.
    assertOk(failed.counts.attempted > 0, JSON.stringify(failed.counts));
    assertEquals(failed.counts.attempted, mock.stats.requests);
    assertEquals(failed.failures.InvalidProviderToken, failed.counts.failed);
    assertEquals(
      failed.counts.targeted,
      failed.counts.accepted + failed.counts.failed + failed.counts.skipped,
    );
    const appView = await h.call("GET", `/v1/apps/${app.appId}`, {
      headers: { authorization: "Bearer test-admin-token-0123456789" },
    });
    assertEquals(appView.body.credentialError.reason, "InvalidProviderToken");
    assertOk(appView.body.credentialError.message.length > 0);
  } finally {
    await env.stop();
  }
});

Deno.test("a send whose segment is deleted before it resolves fails with SegmentNotFound, not an empty success", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth, mock } = env;
    await env.registerMany(3);
    const segment = `/v1/apps/${app.appId}/segments/gone`;
    assertEquals(
      (await h.call("PUT", segment, { headers: auth, body: { name: "gone" } })).status,
      201,
    );
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { segment: "gone" }, notification: alert },
    });
    assertEquals(res.status, 202);
    assertEquals((await h.call("DELETE", segment, { headers: auth })).status, 204);

    const workers = env.startWorkers(1);
    const failed = await env.waitSend(res.body.sendId, (v) => v.status === "failed");
    await workers.stop();
    assertEquals(failed.error?.reason, "SegmentNotFound");
    assertOk(failed.error?.message.includes("gone"), failed.error?.message);
    assertEquals(mock.stats.accepted, 0);
  } finally {
    await env.stop();
  }
});

Deno.test("a wait:true replay of an Idempotency-Key in flight is a 409; once answered it replays the results", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth, mock } = env;
    const id = await env.register({ token: token(1) });
    mock.script(token(1), { status: 200, delayMs: 1_000 });
    const url = `/v1/apps/${app.appId}/sends`;
    const headers = { ...auth, "idempotency-key": "preview-7" };
    const body = { audience: { installationIds: [id] }, notification: alert, wait: true };
    const first = h.call("POST", url, { headers, body });
    await waitFor(async () =>
      (await h.call("GET", url, { headers: auth })).body.sends.length === 1
    );

    const during = await h.call("POST", url, { headers, body });
    assertEquals(during.status, 409);
    assertEquals(during.body.error.code, "conflict");
    const answered = await first;
    assertEquals(answered.status, 200);
    assertEquals(during.body.error.details, [{ sendId: answered.body.sendId }]);
    assertEquals(answered.body.results[0].status, "accepted");
    const after = await h.call("POST", url, { headers, body });
    assertEquals([after.status, after.body], [200, answered.body]);
    assertEquals(mock.stats.requests, 1, "one push went out for three requests");
  } finally {
    await env.stop();
  }
});

Deno.test("a 429 whose retry-after is longer than a retry round may wait fails after one request, not several early ones", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth, mock } = env;
    const slow = await env.register({ token: token(1) });
    const ok = await env.register({ token: token(2) });
    mock.script(token(1), { status: 429, reason: "TooManyRequests", retryAfter: 120 });
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { installationIds: [slow, ok] }, notification: alert, wait: true },
    });
    assertEquals(res.status, 200);
    const byId = Object.fromEntries(
      res.body.results.map((r: { installationId: string }) => [r.installationId, r]),
    );
    assertEquals([byId[slow].status, byId[slow].reason], ["failed", "TooManyRequests"]);
    assertEquals(byId[ok].status, "accepted");
    assertEquals(mock.stats.requests, 2, "one request each: the 429 was not asked again early");
  } finally {
    await env.stop();
  }
});

Deno.test("a chunk whose retry rounds outlast the claim idle time keeps its claim alive: no Unconfirmed", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth, mock } = env;
    await env.registerMany(19);
    await env.register({ token: token(1, 7) });
    const throttled = Array.from({ length: 20 }, () => ({
      status: 429,
      reason: "TooManyRequests",
      retryAfter: 0,
    }));
    mock.script(token(1, 7), ...throttled);
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { all: true }, notification: alert },
    });
    // Rounds wait 200 + 400 + 800 ms: well past a 1 s claim idle time without heartbeats.
    const workers = env.startWorkers(2, { claimIdleMs: 1_000 });
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed");
    await workers.stop();
    assertEquals(done.failures, { TooManyRequests: 1 });
    assertEquals([done.counts.accepted, done.counts.failed], [19, 1]);
  } finally {
    await env.stop();
  }
});
