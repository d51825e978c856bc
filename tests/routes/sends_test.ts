import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { waitFor } from "../support/redis_server.ts";
import { startSendEnv, token } from "../lib/sends/_env.ts";

const alert = { title: "Hello", body: "Summer sale" };

Deno.test("POST /v1/apps/:appId/sends to a segment delivers to every reachable installation once", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth } = env;
    await env.registerMany(30, { userPrefix: "u" });
    const denied = await env.register({
      token: token(999),
      userId: "u999",
      pushAuthorization: "denied",
    });
    assertOk(denied);
    const put = await h.call("PUT", `/v1/apps/${app.appId}/segments/vip`, {
      headers: auth,
      body: { name: "VIP" },
    });
    assertEquals(put.status, 201);
    const members = Array.from({ length: 20 }, (_, i) => `u${i}`).concat("u999");
    const add = await h.call("POST", `/v1/apps/${app.appId}/segments/vip/members`, {
      headers: auth,
      body: { add: members },
    });
    assertEquals(add.status, 200);
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { segment: "vip" }, notification: alert },
    });
    assertEquals(res.status, 202);
    assertEquals(res.body.status, "queued");
    const workers = env.startWorkers(1);
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed");
    await workers.stop();
    assertEquals(done.counts.targeted, 20);
    assertEquals(done.counts.accepted, 20);
    assertEquals(done.counts.attempted, 20);
    assertEquals(done.counts.failed + done.counts.skipped + done.counts.invalidated, 0);
    assertOk(done.startedAt && done.finishedAt);
    for (let i = 0; i < 20; i++) assertEquals(env.mock.countFor(token(i)), 1);
    assertEquals(env.mock.countFor(token(25)), 0);
    assertEquals(env.mock.countFor(token(999)), 0);
    const push = env.mock.accepted[0];
    assertEquals((push.payload as Record<string, unknown>).sendId, res.body.sendId);
    assertEquals(push.headers["apns-topic"], app.bundleId);

    const got = await h.call("GET", `/v1/apps/${app.appId}/sends/${res.body.sendId}`, {
      headers: auth,
    });
    assertEquals(got.status, 200);
    assertEquals(got.body.counts.delivered, 0);
    assertEquals(got.body.failures, {});
    const list = await h.call("GET", `/v1/apps/${app.appId}/sends?limit=5`, { headers: auth });
    assertEquals(list.body.sends.map((s: { sendId: string }) => s.sendId), [res.body.sendId]);
  } finally {
    await env.stop();
  }
});

Deno.test("POST /v1/apps/:appId/sends rejects bad requests and writes nothing", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth } = env;
    const url = `/v1/apps/${app.appId}/sends`;
    const before = await h.testRedis.redis.dbsize();
    const cases: Array<[unknown, number]> = [
      [{ audience: { all: true }, notification: alert, surprise: 1 }, 400],
      [{ audience: { all: true, segment: "x" }, notification: alert }, 400],
      [{ audience: { all: true }, notification: alert, priority: 7 }, 400],
      [{ audience: { all: true }, notification: alert, expiresAt: "tomorrow" }, 400],
      [{ audience: { all: true } }, 400],
      [{ audience: { userIds: [] }, notification: alert }, 400],
      [{
        audience: { installationIds: Array.from({ length: 101 }, (_, i) => `i${i}`) },
        notification: alert,
        wait: true,
      }, 400],
      [{ audience: { segment: "nope" }, notification: alert }, 404],
    ];
    for (const [body, status] of cases) {
      const res = await h.call("POST", url, { headers: auth, body });
      assertEquals(res.status, status, JSON.stringify(body));
    }
    const both = await h.call("POST", url, {
      headers: auth,
      body: { audience: { all: true, segment: "x" }, notification: alert },
    });
    assertStringIncludes(both.body.error.details[0].message, "exactly one of {segment}");
    for (const notification of [{ body: "x".repeat(4096) }, { title: "é".repeat(5000) }]) {
      const big = await h.call("POST", url, {
        headers: auth,
        body: { audience: { all: true }, notification },
      });
      assertEquals(big.status, 400);
      assertEquals(big.body.error.code, "validation_failed");
      assertEquals(big.body.error.details[0].limit, 4096);
      assertOk(big.body.error.details[0].size > 4096);
    }
    const wrongKey = await h.call("POST", url, {
      headers: { authorization: "Bearer nope" },
      body: { audience: { all: true }, notification: alert },
    });
    assertEquals(wrongKey.status, 401);
    assertEquals(await h.testRedis.redis.dbsize(), before);
  } finally {
    await env.stop();
  }
});

Deno.test("POST /v1/apps/:appId/sends with an Idempotency-Key replays the same send, 409 on another body", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth } = env;
    const url = `/v1/apps/${app.appId}/sends`;
    const headers = { ...auth, "idempotency-key": "campaign-42" };
    const body = { audience: { all: true }, notification: alert, priority: 5 };
    const first = await h.call("POST", url, { headers, body });
    assertEquals(first.status, 202);
    const reordered = {
      priority: 5,
      notification: { body: alert.body, title: alert.title },
      audience: { all: true },
    };
    const again = await h.call("POST", url, { headers, body: reordered });
    assertEquals(again.status, 202);
    assertEquals(again.body, first.body);
    const other = await h.call("POST", url, {
      headers,
      body: { ...body, notification: { title: "Other" } },
    });
    assertEquals(other.status, 409);
    assertEquals(other.body.error.code, "conflict");
    const list = await h.call("GET", url, { headers: auth });
    assertEquals(list.body.sends.length, 1);
    // Once the send has run, a replay names the same send and where it is now.
    const workers = env.startWorkers();
    try {
      await env.waitSend(first.body.sendId, (v) => v.status === "completed");
    } finally {
      await workers.stop();
    }
    const later = await h.call("POST", url, { headers, body });
    assertEquals(later.status, 202);
    assertEquals(later.body, { sendId: first.body.sendId, status: "completed" });
  } finally {
    await env.stop();
  }
});

Deno.test("POST /v1/apps/:appId/sends wait:true answers per recipient and feeds the registry", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth, mock } = env;
    const ok = await env.register({ token: token(1) });
    const denied = await env.register({ token: token(2), pushAuthorization: "denied" });
    const gone = await env.register({ token: token(3) });
    mock.device(token(3), { unregisteredAt: Date.now() + 60_000 });
    const sandbox = await env.register({ token: token(4), environment: "production" });
    mock.device(token(4), { environment: "development" });
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: {
        audience: { installationIds: [ok, denied, gone, sandbox, "missing"] },
        notification: alert,
        wait: true,
      },
    });
    assertEquals(res.status, 200);
    const byId = Object.fromEntries(
      res.body.results.map((r: { installationId: string }) => [r.installationId, r]),
    );
    assertEquals(byId[ok].status, "accepted");
    assertOk(byId[ok].apnsId);
    assertEquals(byId[denied].status, "skipped");
    assertEquals(byId.missing.status, "skipped");
    assertEquals(byId[gone].status, "failed");
    assertEquals(byId[gone].reason, "Unregistered");
    assertEquals(byId[sandbox].status, "accepted");
    assertEquals((await h.services.registry.get(app.appId, gone))!.status, "unregistered");
    assertEquals((await h.services.registry.get(app.appId, sandbox))!.environment, "development");
    const view = await env.waitSend(res.body.sendId, (v) => v.status === "completed");
    assertEquals(view.counts, {
      targeted: 5,
      attempted: 3,
      accepted: 2,
      failed: 1,
      invalidated: 1,
      skipped: 2,
      delivered: 0,
      opened: 0,
    });
    assertEquals(view.failures, { Unregistered: 1 });
  } finally {
    await env.stop();
  }
});

Deno.test("POST /v1/apps/:appId/sends wait:true refuses a segment over 100 recipients", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth } = env;
    await env.registerMany(101, { userPrefix: "w" });
    await h.services.segments.put(app.appId, "big", { name: "Big" });
    await h.services.segments.updateMembers(app.appId, "big", {
      add: Array.from({ length: 101 }, (_, i) => `w${i}`),
    });
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { segment: "big" }, notification: alert, wait: true },
    });
    assertEquals(res.status, 400);
    const small = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: {
        audience: { segment: "big" },
        notification: alert,
        wait: true,
        environment: "development",
      },
    });
    assertEquals(small.status, 200);
    assertEquals(small.body.results, []);
  } finally {
    await env.stop();
  }
});

Deno.test("POST /v1/apps/:appId/sends to userIds with an environment filter reaches only that environment", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth, mock } = env;
    await env.register({ token: token(1), userId: "alice" });
    await env.register({ token: token(2), userId: "alice", environment: "development" });
    await env.register({ token: token(3), userId: "bob", environment: "development" });
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: {
        audience: { userIds: ["alice", "bob", "nobody"] },
        notification: alert,
        environment: "development",
      },
    });
    assertEquals(res.status, 202);
    const workers = env.startWorkers(1);
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed");
    await workers.stop();
    assertEquals(done.counts.accepted, 2);
    assertEquals(done.counts.targeted, 2);
    assertEquals(mock.countFor(token(1)), 0);
    assertEquals(mock.countFor(token(2)), 1);
    assertEquals(mock.countFor(token(3)), 1);
  } finally {
    await env.stop();
  }
});

Deno.test("a device installed today is reached by a segment send at once (segments → registry → sends)", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth, mock } = env;
    assertEquals(
      (await h.call("PUT", `/v1/apps/${app.appId}/segments/today`, {
        headers: auth,
        body: { name: "Today" },
      })).status,
      201,
    );
    await h.call("POST", `/v1/apps/${app.appId}/segments/today/members`, {
      headers: auth,
      body: { add: ["new-user"] },
    });
    const reg = await h.call("POST", "/v1/sdk/installations", {
      headers: { "x-app-key": app.appKey },
      body: { token: token(77), environment: "production", userId: "new-user" },
    });
    assertEquals(reg.status, 201);
    const workers = env.startWorkers(1);
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { segment: "today" }, notification: alert },
    });
    await waitFor(() => mock.countFor(token(77)) === 1, { timeoutMs: 5_000 });
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed");
    await workers.stop();
    assertEquals(done.counts.accepted, 1);
    assertEquals(mock.accepted[0].token, token(77));
  } finally {
    await env.stop();
  }
});

Deno.test("GET /v1/apps/:appId/sends/:sendId answers 404 for an unknown send", async () => {
  const env = await startSendEnv();
  try {
    const res = await env.h.call("GET", `/v1/apps/${env.app.appId}/sends/snd_nope`, {
      headers: env.auth,
    });
    assertEquals(res.status, 404);
    assertEquals(res.body.error.code, "not_found");
  } finally {
    await env.stop();
  }
});
