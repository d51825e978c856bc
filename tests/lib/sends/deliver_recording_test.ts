import { assertEquals, assertOk } from "../../support/assert.ts";
import { startSendEnv, token } from "./_env.ts";

Deno.test("a batch records each outcome as APNs answers, before its slowest push is answered", async () => {
  const env = await startSendEnv();
  try {
    const { h, app, mock } = env;
    const ids = await env.registerMany(3);
    // The third device's answer is held until the test lets it go.
    mock.script(token(2), { status: 200, delayMs: 60_000 });
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: env.auth,
      body: { audience: { installationIds: ids }, notification: { title: "Hi" } },
    });
    assertEquals(res.status, 202);
    const workers = env.startWorkers(1);
    const early = await env.waitSend(res.body.sendId, (v) => v.counts.accepted === 2);
    assertEquals(early.status, "sending", "the batch is still waiting on the third answer");
    assertEquals(early.counts.targeted, 2, "only answered recipients are recorded");
    await mock.dropConnections(); // ends the held stream; the transport sends it again, unscripted
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed");
    await workers.stop();
    assertEquals(done.counts.accepted, 3);
    assertOk(mock.countFor(token(2)) === 1, "the held push reached APNs once");
  } finally {
    await env.stop();
  }
});
