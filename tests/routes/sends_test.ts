import { assertEquals, assertOk } from "../support/assert.ts";
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
