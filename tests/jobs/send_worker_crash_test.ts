/**
 * A worker SIGKILLed mid-campaign, in both `uncertain` modes, two ways: worker processes with a
 * short claim idle time that report their transport's in-flight requests (so the bound can be
 * checked against what was truly in flight), and workers started exactly as `deno task worker`
 * runs them, with every default (claim idle 30 s, 4 items at once).
 *
 * The bound (recorder.ts): an outcome is written within RECORD_EVERY_MS of APNs' answer, so the
 * recipients a kill leaves of unknown fate are the requests in flight at the kill plus those
 * answered in the last recording interval (plus the write's round trip).
 *
 * @module
 */
import { assertEquals, assertOk } from "../support/assert.ts";
import { waitFor } from "../support/redis_server.ts";
import { type SendEnv, startSendEnv, token } from "../lib/sends/_env.ts";
import { spawnWorker, type WorkerProcess, type WorkerSample } from "../lib/sends/_spawn.ts";
import { RECORD_EVERY_MS } from "../../lib/sends/mod.ts";
import { QUEUE_PARTITIONS, sendKeys } from "../../lib/sends/_keys.ts";
import { ADMIN_TOKEN } from "../support/harness.ts";

const RECIPIENTS = 20_000;
/** APNs answers after a few ms, not at once (the run used a mock adding 4 ms). */
const LATENCY_MS = 4;

type Mode = "resend" | "skip";

interface CrashReport {
  missing: number;
  duplicates: number;
  unconfirmed: number;
  /**
   * Failed `Timeout`: APNs (the mock, in this busy test process) did not answer within 10 s.
   * Only a starved machine (the whole suite in parallel on two cores) gets any.
   */
  timeouts: number;
  counts: Record<string, number>;
  /** The killed worker's own account at the kill (CLI workers only); see frozenAccount. */
  bound?: { inFlight: number; unrecorded: number; intervalWorth: number };
}

/** Spawns the worker as `deno task worker` runs it: the task's command line, the env config. */
async function spawnTaskWorker(env: SendEnv, mode: Mode): Promise<WorkerProcess> {
  const root = new URL("../../", import.meta.url);
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks;
  const [deno, ...args] = String(tasks.worker).split(/\s+/);
  assertEquals(deno, "deno");
  const caFile = await Deno.makeTempFile({ prefix: "edgepush-ca-", suffix: ".pem" });
  await Deno.writeTextFile(caFile, env.mock.caPem);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: root.pathname,
    env: {
      REDIS_URL: env.h.testRedis.url,
      ADMIN_TOKEN,
      MASTER_KEY: env.masterKey,
      APNS_HOST_PRODUCTION: env.mock.hosts.production,
      APNS_HOST_DEVELOPMENT: env.mock.hosts.development,
      APNS_CA_FILE: caFile,
      SEND_UNCERTAIN: mode,
      LOG_LEVEL: "warn",
    },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let stopped: Promise<void> | undefined;
  return {
    pid: child.pid,
    child,
    samples: [],
    stop(signal: Deno.Signal = "SIGTERM") {
      stopped ??= (async () => {
        try {
          child.kill(signal);
        } catch { /* gone */ }
        await child.status;
        await Deno.remove(caFile).catch(() => {});
      })();
      return stopped;
    },
  };
}

/** Consumers the queue's groups know: a worker appears once it has read an entry. */
async function consumers(env: SendEnv): Promise<number> {
  const names = new Set<string>();
  for (let partition = 0; partition < QUEUE_PARTITIONS; partition++) {
    const info = await env.h.testRedis.redis.xinfo(sendKeys.queue(partition), {
      type: "CONSUMERS",
      group: sendKeys.group(),
    }).catch(() => []);
    for (const c of Array.isArray(info) ? info : []) {
      // XINFO CONSUMERS answers one flat [name, <name>, pending, n, …] list per consumer.
      if (Array.isArray(c) && c[0] === "name") names.add(String(c[1]));
    }
  }
  return names.size;
}

/**
 * The worker's own account at its freeze: requests in flight (in the transport, or whose claim,
 * the step right before the request, was on its way) and answers not yet written (at most one
 * recording interval's worth).
 */
function frozenAccount(samples: readonly WorkerSample[]) {
  const last = samples.at(-1)!;
  assertOk(last.frozen, "the last line is the frozen one");
  const earlier = samples.find((s) => s.at >= last.at - 300) ?? samples[0];
  const perMs = last.at > earlier.at
    ? (last.answered - earlier.answered) / (last.at - earlier.at)
    : 0;
  return {
    inFlight: last.inFlight + last.claiming,
    unrecorded: last.unrecorded,
    intervalWorth: Math.round(perMs * RECORD_EVERY_MS),
  };
}

async function crashCampaign(mode: Mode, how: "cli" | "task"): Promise<CrashReport> {
  const env = await startSendEnv({ mock: { record: false, latencyMs: LATENCY_MS } });
  const workers: WorkerProcess[] = [];
  try {
    const { h, app, auth, mock } = env;
    await env.registerMany(RECIPIENTS);
    const spawn = () =>
      how === "task" ? spawnTaskWorker(env, mode) : spawnWorker({
        redisUrl: h.testRedis.url,
        masterKey: env.masterKey,
        mock,
        args: [
          ...["--claim-idle-ms", "3000", "--concurrency", "2", "--uncertain", mode],
          ...["--stats-every-ms", "10"],
        ],
      });
    workers.push(await spawn(), await spawn());
    const res = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { all: true }, notification: { title: "Crash test" } },
    });
    assertEquals(res.status, 202);
    // Both workers have taken items (a consumer appears with its first read of an entry).
    await waitFor(async () => (await consumers(env)) >= 2, { timeoutMs: 60_000, what: "workers" });
    await waitFor(() => mock.stats.accepted >= RECIPIENTS / 4, {
      timeoutMs: 60_000,
      intervalMs: 5,
    });
    let bound: CrashReport["bound"];
    if (how === "cli") {
      // Freeze it first (it reports what it holds at that instant), then kill it: the same as a
      // SIGKILL at the freeze, with a known state.
      Deno.kill(workers[0].pid, "SIGUSR1");
      await waitFor(() => workers[0].samples.at(-1)?.frozen, { intervalMs: 1, what: "freeze" });
      bound = frozenAccount(workers[0].samples);
    }
    await workers[0].stop("SIGKILL");
    const killedAt = mock.stats.accepted;
    // The default claim idle time is 30 s: the dead worker's items wait that long.
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed", 120_000);
    let missing = 0;
    let duplicates = 0;
    for (let i = 0; i < RECIPIENTS; i++) {
      const n = mock.countFor(token(i));
      if (n === 0) missing++;
      if (n > 1) duplicates += n - 1;
    }
    const unconfirmed = done.failures.Unconfirmed ?? 0;
    console.log(
      `crash test (${how}, ${mode}): killed at ${killedAt}/${RECIPIENTS} accepted; ` +
        `missing=${missing} duplicates=${duplicates} unconfirmed=${unconfirmed}` +
        (bound
          ? ` inFlightAtKill=${bound.inFlight} answeredUnwritten=${bound.unrecorded}` +
            ` (one ${RECORD_EVERY_MS} ms interval at its rate: ${bound.intervalWorth})`
          : "") +
        ` counts=${JSON.stringify(done.counts)} failures=${JSON.stringify(done.failures)}`,
    );
    assertOk(killedAt < RECIPIENTS, "the kill happened mid-campaign");
    assertEquals(done.counts.targeted, RECIPIENTS);
    assertEquals(
      done.counts.targeted,
      done.counts.accepted + done.counts.failed + done.counts.skipped,
    );
    const timeouts = done.failures.Timeout ?? 0;
    const other = Object.keys(done.failures).filter((r) => r !== "Unconfirmed" && r !== "Timeout");
    assertEquals(other, [], "no other failure");
    return { missing, duplicates, unconfirmed, timeouts, counts: done.counts, bound };
  } finally {
    for (const w of workers) await w.stop("SIGKILL");
    await env.stop();
  }
}

for (const how of ["cli", "task"] as const) {
  const what = how === "cli"
    ? "worker processes reporting their in-flight requests"
    : "`deno task worker` processes with the defaults";
  Deno.test({
    name: `send worker crash (${what}), resend mode: nobody lost, repeats only what was in flight`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const { missing, duplicates, counts, unconfirmed, timeouts, bound } = await crashCampaign(
        "resend",
        how,
      );
      assertEquals(missing, 0, "every recipient was sent to");
      assertEquals(unconfirmed, 0);
      assertEquals(counts.accepted + timeouts, RECIPIENTS);
      if (bound) {
        assertOk(
          duplicates <= bound.inFlight + bound.unrecorded,
          `${duplicates} duplicates > ${bound.inFlight} in flight + ${bound.unrecorded} unwritten`,
        );
      }
    },
  });

  Deno.test({
    name:
      `send worker crash (${what}), skip mode (default): nobody twice, only what was in flight Unconfirmed`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const { missing, duplicates, counts, unconfirmed, timeouts, bound } = await crashCampaign(
        "skip",
        how,
      );
      assertEquals(duplicates, 0, "no recipient got the send twice");
      assertEquals(counts.accepted + unconfirmed + timeouts, RECIPIENTS);
      if (bound) {
        assertOk(
          unconfirmed <= bound.inFlight + bound.unrecorded,
          `${unconfirmed} Unconfirmed > ${bound.inFlight} in flight + ${bound.unrecorded} unwritten`,
        );
      }
      assertOk(missing <= unconfirmed, "only unconfirmed recipients may be missing");
    },
  });
}
