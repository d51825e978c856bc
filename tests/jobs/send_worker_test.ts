import { assertEquals } from "../support/assert.ts";
import { startSendEnv } from "../lib/sends/_env.ts";
import { drainFor, startWorkers } from "../../jobs/send_worker.ts";

Deno.test("drainFor sends what is queued and returns early once the queue is empty", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth, mock } = env;
    await env.registerMany(1_200);
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { all: true }, notification: { title: "cron" } },
    });
    const started = Date.now();
    const handled = await drainFor(h.services, 30_000, { maxIdleMs: 20 });
    assertEquals(Date.now() - started < 30_000, true);
    assertEquals(handled >= 3, true); // a resolve step and three batches at least
    const view = await h.services.sends.get(app.appId, res.body.sendId);
    assertEquals(view.status, "completed");
    assertEquals(view.counts.accepted, 1_200);
    assertEquals(mock.stats.accepted, 1_200);
  } finally {
    await env.stop();
  }
});

Deno.test("startWorkers runs N in-process workers until the signal aborts", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth } = env;
    await env.registerMany(50);
    const controller = new AbortController();
    const running = startWorkers({
      services: h.services,
      count: 2,
      signal: controller.signal,
      worker: { maxIdleMs: 20 },
    });
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { all: true }, notification: { title: "in-process" } },
    });
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed");
    controller.abort();
    await running;
    assertEquals(done.counts.accepted, 50);
  } finally {
    await env.stop();
  }
});

Deno.test("a send whose app was deleted fails instead of retrying forever", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, auth } = env;
    await env.registerMany(5);
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { all: true }, notification: { title: "gone" } },
    });
    // Resolve first, then remove the app record (as app deletion does before its key scan).
    const worker = h.services.sends.createWorker();
    assertEquals(await worker.step(), true);
    await h.testRedis.redis.del(`ep:v1:{${app.appId}}:app`);
    while (await worker.step()) { /* drain */ }
    const view = await h.services.sends.get(app.appId, res.body.sendId);
    assertEquals(view.status, "failed");
    assertEquals(view.error?.reason, "AppNotFound");
    assertEquals(await h.services.sends.queue.length(), 0);
  } finally {
    await env.stop();
  }
});
