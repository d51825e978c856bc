import { assertEquals, assertOk } from "../support/assert.ts";
import { waitFor } from "../support/redis_server.ts";
import { startSendEnv, token } from "../lib/sends/_env.ts";
import { spawnWorker, type WorkerProcess } from "../lib/sends/_spawn.ts";

const RECIPIENTS = 20_000;

async function crashCampaign(uncertain: "resend" | "skip") {
  const env = await startSendEnv({ mock: { record: false } });
  const workers: WorkerProcess[] = [];
  try {
    const { h, app, auth, mock } = env;
    await env.registerMany(RECIPIENTS);
    const spawn = () =>
      spawnWorker({
        redisUrl: h.testRedis.url,
        masterKey: env.masterKey,
        mock,
        args: ["--claim-idle-ms", "2000", "--concurrency", "2", "--uncertain", uncertain],
      });
    workers.push(await spawn(), await spawn());
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { all: true }, notification: { title: "Crash test" } },
    });
    assertEquals(res.status, 202);
    await waitFor(() => mock.stats.accepted >= RECIPIENTS / 4, { timeoutMs: 60_000 });
    await workers[0].stop("SIGKILL");
    const killedAt = mock.stats.accepted;
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed", 120_000);
    let missing = 0;
    let duplicates = 0;
    for (let i = 0; i < RECIPIENTS; i++) {
      const n = mock.countFor(token(i));
      if (n === 0) missing++;
      if (n > 1) duplicates += n - 1;
    }
    console.log(
      `crash test (${uncertain}): killed at ${killedAt}/${RECIPIENTS} accepted; ` +
        `missing=${missing} duplicates=${duplicates} mockAccepted=${mock.stats.accepted} ` +
        `counts=${JSON.stringify(done.counts)} failures=${JSON.stringify(done.failures)}`,
    );
    assertOk(killedAt < RECIPIENTS, "the kill happened mid-campaign");
    assertEquals(done.counts.targeted, RECIPIENTS);
    assertEquals(
      done.counts.targeted,
      done.counts.accepted + done.counts.failed + done.counts.skipped,
    );
    return { missing, duplicates, counts: done.counts, failures: done.failures };
  } finally {
    for (const w of workers) await w.stop("SIGKILL");
    await env.stop();
  }
}

// The killed worker holds at most concurrency (2) × chunk (250) pushes in flight.
const IN_FLIGHT_BOUND = 500;

Deno.test({
  name:
    "send worker processes: SIGKILL of one mid-campaign, resend mode: nobody lost, in-flight repeats bounded",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { missing, duplicates, counts } = await crashCampaign("resend");
    assertEquals(missing, 0, "every recipient was sent to");
    assertEquals(counts.accepted, RECIPIENTS);
    assertOk(duplicates <= IN_FLIGHT_BOUND, `${duplicates} duplicates`);
  },
});

Deno.test({
  name:
    "send worker processes: SIGKILL of one mid-campaign, skip mode (default): nobody twice, the unconfirmed reported failed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { missing, duplicates, counts, failures } = await crashCampaign("skip");
    assertEquals(duplicates, 0, "no recipient got the send twice");
    assertEquals(counts.accepted + (failures.Unconfirmed ?? 0), RECIPIENTS);
    // Only the chunks the killed worker held can be of unknown fate; of those, the pushes it
    // had not yet written when it died are the only ones that may be missing.
    assertOk((failures.Unconfirmed ?? 0) <= IN_FLIGHT_BOUND, `${failures.Unconfirmed} unconfirmed`);
    assertOk(missing <= (failures.Unconfirmed ?? 0), "only unconfirmed recipients may be missing");
  },
});
