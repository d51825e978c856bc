import { assertEquals } from "../support/assert.ts";
import { startSendEnv, token } from "../lib/sends/_env.ts";

const RECIPIENTS = 3_000;
const UNINSTALLED = 150;

Deno.test("send workers under APNs faults (429, 503, GOAWAY on 10%) accept every deliverable recipient exactly once", async () => {
  const env = await startSendEnv({
    mock: { faults: { rate: 0.1, kinds: ["429", "503", "goaway"], seed: 7 } },
  });
  try {
    const { h, app, auth, mock } = env;
    const ids = await env.registerMany(RECIPIENTS);
    const later = Date.now() + 60_000;
    for (let i = 0; i < UNINSTALLED; i++) mock.device(token(i * 20), { unregisteredAt: later });
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { all: true }, notification: { title: "Faults" } },
    });
    const workers = env.startWorkers(2);
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed", 60_000);
    await workers.stop();
    const unregistered = new Set(Array.from({ length: UNINSTALLED }, (_, i) => i * 20));
    let wrong = 0;
    for (let i = 0; i < RECIPIENTS; i++) {
      if (mock.countFor(token(i)) !== (unregistered.has(i) ? 0 : 1)) wrong++;
    }
    assertEquals(wrong, 0, "each deliverable token accepted exactly once, none of the 410s");
    assertEquals(done.counts.targeted, RECIPIENTS);
    assertEquals(done.counts.accepted, RECIPIENTS - UNINSTALLED);
    assertEquals(done.counts.failed, UNINSTALLED);
    assertEquals(done.counts.invalidated, UNINSTALLED);
    assertEquals(done.counts.attempted, RECIPIENTS);
    assertEquals(
      done.counts.targeted,
      done.counts.accepted + done.counts.failed + done.counts.skipped,
    );
    assertEquals(done.failures, { Unregistered: UNINSTALLED });
    const statuses = await h.services.registry.getMany(
      app.appId,
      [...unregistered].map((i) => ids[i]),
    );
    assertEquals(statuses.filter((s) => s?.status === "unregistered").length, UNINSTALLED);
    console.log(`fault test: mock requests=${mock.stats.requests} accepted=${mock.stats.accepted}`);
  } finally {
    await env.stop();
  }
});
