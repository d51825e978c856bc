/**
 * Campaign benchmark: a segment in Redis → send workers (child processes) → the mock APNs in
 * its own process, end to end; notifications/s, worker CPU per 1k and the worker's peak RSS.
 * Printed beside a relay-only row (the same relay called directly, same mock process) and the
 * rows of `tests/bench/send_bench.ts` when that runs.
 *
 * `deno run -A tests/bench/campaign.ts [--recipients 20000,100000] [--workers 1] [--concurrency 4]
 * [--first-only] [--v8-flags=… | none]`
 *
 * Each size runs on a fresh Redis, worker and mock. Beside the end-to-end rate it prints how soon
 * the first push was accepted after the `POST`, the rate from the first accepted push to the
 * last, and h2load's rate against the same mock (a fresh process of it, before the campaigns and
 * after them: the ceiling is the mean, since a shared machine's speed drifts). Each size
 * sends its campaign twice on the same worker (`--first-only`: once): the worker's first
 * campaign still pays for compiling its hot paths, which a worker in production has done. The
 * worker runs with `deno task worker`'s V8 flags (its heap cap), as operators run it.
 *
 * @module
 */
import { parseArgs } from "node:util";
import IORedis from "ioredis";
import { createSealedBox, generateMasterKey } from "../../lib/crypto/sealed_box.ts";
import { silentLogger } from "../../lib/observability/logger.ts";
import { createMetrics } from "../../lib/observability/metrics.ts";
import { registryKeys } from "../../lib/registry/_keys.ts";
import { segmentKeys } from "../../lib/segments/_keys.ts";
import { createServices } from "../../lib/services.ts";
import { createRelay } from "../../lib/apns/relay.ts";
import { buildHeaders } from "../../lib/apns/headers.ts";
import { buildPayload } from "../../lib/apns/payload.ts";
import { generateApnsKey } from "../support/harness.ts";
import { startTestRedis } from "../support/redis_server.ts";
import { clusterAsTestRedis, startTestCluster } from "../support/redis_cluster.ts";
import { spawnWorker, type WorkerProcess } from "../lib/sends/_spawn.ts";
import { runH2load } from "./h2load.ts";

/**
 * The V8 flags `deno task worker` runs the worker with (deno.json), so the benchmarks measure the
 * worker as it ships.
 */
export async function workerTaskV8Flags(): Promise<string[]> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ) as { tasks?: Record<string, string> };
  const flags = /--v8-flags=(\S+)/.exec(config.tasks?.worker ?? "")?.[1];
  return flags ? flags.split(",") : [];
}

/** Options of {@linkcode runCampaignBench}. */
export interface CampaignBenchOptions {
  /** Recipients in the segment. Default: 100,000. */
  recipients?: number;
  /** Worker processes. Default: 1. */
  workers?: number;
  /** Items each worker handles at once. Default: 4. */
  concurrency?: number;
  /** V8 flags for the worker processes, e.g. `["--max-old-space-size=64"]`. Default: none. */
  v8Flags?: string[];
  /** Progress lines on stderr. Default: false. */
  verbose?: boolean;
  /** Run on a private 3-master, 3-replica Redis Cluster (cluster mode). Default: false. */
  cluster?: boolean;
  /** Also measure the relay alone (the ceiling row). Default: true. */
  relayOnly?: boolean;
  /**
   * Send a second campaign to the segment on the same worker, after the first: a worker in
   * production has sent before, so its hot paths are compiled (the first campaign's figures
   * include the JIT's warm-up). Default: false.
   */
  againOnSameWorker?: boolean;
}

/** One result row. */
export interface CampaignBenchRow {
  name: string;
  recipients: number;
  seconds: number;
  notificationsPerSecond: number;
  /** Worker CPU (user + system) per 1,000 notifications, summed over workers. */
  cpuMsPer1k: number | null;
  /** Highest peak RSS (VmHWM) among the workers, MB. */
  peakRssMb: number | null;
  /** Redis' CPU per 1,000 notifications (INFO cpu, the bench's own status polls included). */
  redisCpuMsPer1k?: number | null;
  accepted: number;
  mockAccepted: number;
  /** From the `POST` (sends.create) to the first push the mock accepted, ms. */
  firstPushMs?: number | null;
  /** The same for the one-device send that warms the fresh worker up (connect, token). */
  coldFirstPushMs?: number | null;
  /** From the `POST` until the whole audience was resolved into batches, ms (±50). */
  resolvedMs?: number | null;
  /** Accepted pushes per second from the first accepted push to the last. */
  firstToLastPerSecond?: number | null;
  /**
   * h2load against a mock process of the same kind, requests/s (the ceiling): the mean of a run
   * before the campaigns and one after, since the machine's speed drifts between them.
   */
  h2loadPerSecond?: number | null;
  /** The two h2load runs the ceiling is the mean of, requests/s. */
  h2loadRuns?: Array<number | null>;
  /** firstToLastPerSecond / h2loadPerSecond. */
  ofCeiling?: number | null;
}

const SEED_LUA = `
-- Seeds installations for the benchmark, the way the registry stores them.
-- KEYS[1] the app's key prefix: routes the script to the app's slot in a cluster (every key
--         built below shares its hash tag)
-- ARGV[1] key prefix "ep:v1:{appId}:", ARGV[2] first index, ARGV[3] count,
-- ARGV[4] the segment's production reach bitmap, ARGV[5] now (ms)
-- Installation b<i> gets number i (lib/registry/scripts/_numbers.lua: field n, ix: map, the
-- counter moved past it), so its bit i is set in the segment's bitmap.
local prefix, first, count, seg, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
for i = first, first + count - 1 do
  local id = "b" .. i
  local token = string.rep("0", 56) .. string.format("%08x", i)
  -- The current layout (lib/registry/scripts/_codec.lua): the secret hash (22 base64url
  -- characters), the token, registeredAt and the number; production, authorized, active and
  -- the times equal to registeredAt are the defaults left out.
  redis.call("HSET", prefix .. "inst:" .. id, "s", string.sub(redis.sha1hex(id), 1, 22),
    "t", token, "rg", now, "n", i)
  redis.call("HSET", prefix .. "ix:" .. math.floor(i / 128), i % 128, id)
  local h = redis.sha1hex(token) -- the token index (lib/registry/scripts/_token_index.lua)
  redis.call("HSET", prefix .. "tk:" .. string.sub(h, 1, 4), string.sub(h, 5, 20), id)
  redis.call("SETBIT", prefix .. "rb:production", i, 1)
  redis.call("SETBIT", seg, i, 1)
end
if tonumber(redis.call("GET", prefix .. "nseq") or "0") < first + count then
  redis.call("SET", prefix .. "nseq", first + count)
end
return count
`;

async function procStats(pid: number): Promise<{ cpuMs: number; hwmKb: number } | null> {
  try {
    const stat = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
    const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime (fields 14, 15)
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuMs: ticks * 10, hwmKb: hwm };
  } catch {
    return null;
  }
}

/** Redis' own CPU so far (user + system, main thread and children), ms. */
async function redisCpuMs(url: string): Promise<number> {
  const client = new IORedis.default(url);
  try {
    const text = await client.info("cpu");
    const field = (name: string) =>
      Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(text)?.[1] ?? 0);
    return (field("used_cpu_sys") + field("used_cpu_user")) * 1000;
  } finally {
    client.disconnect();
  }
}

/** Runs one end-to-end campaign and returns its row (plus the relay-only rows if available). */
export async function runCampaignBench(
  options: CampaignBenchOptions = {},
): Promise<CampaignBenchRow[]> {
  const recipients = options.recipients ?? 100_000;
  const workerCount = options.workers ?? 1;
  const log = (msg: string) => options.verbose && console.error(`[campaign] ${msg}`);
  const cluster = options.cluster ? await startTestCluster() : null;
  const redis = cluster ? clusterAsTestRedis(cluster) : await startTestRedis();
  const masterKey = generateMasterKey();
  const services = createServices({
    redis: redis.redis,
    box: await createSealedBox(masterKey),
    logger: silentLogger,
    metrics: createMetrics(),
    apns: { productionHost: "127.0.0.1:1", developmentHost: "127.0.0.1:1" },
    sdkRateLimit: null,
    staleAfterDays: 270,
  });
  const key = await generateApnsKey();
  const keyFile = await Deno.makeTempFile({ suffix: ".p8" });
  await Deno.writeTextFile(keyFile, key.privateKeyPem);
  const workers: WorkerProcess[] = [];
  let mockProc: Deno.ChildProcess | undefined;
  try {
    const created = await services.apps.create({
      name: "Bench",
      bundleId: "com.example.bench",
      apns: { teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKeyPem },
    });
    const appId = created.appId;
    await services.segments.put(appId, "bench", { name: "Bench" });
    const seedStart = performance.now();
    const seed = services.redis.createScript<number>(SEED_LUA);
    const step = 2_000;
    for (let first = 0; first < recipients; first += step * 4) {
      await Promise.all([0, 1, 2, 3].map((k) => {
        const from = first + k * step;
        if (from >= recipients) return Promise.resolve(0);
        return seed.exec([registryKeys.prefix(appId)], [
          registryKeys.prefix(appId),
          String(from),
          String(Math.min(step, recipients - from)),
          segmentKeys.reachable(appId, "bench", "production"),
          String(Date.now()),
        ]);
      }));
    }
    const seeded = Number(
      await services.redis.bitcount(segmentKeys.reachable(appId, "bench", "production"), 0, -1),
    );
    if (seeded !== recipients) throw new Error(`seeded ${seeded} of ${recipients} recipients`);
    log(`seeded ${recipients} in ${((performance.now() - seedStart) / 1000).toFixed(1)}s`);
    const ceilingBefore = await h2loadCeiling(keyFile, key, Math.min(recipients, 100_000));

    mockProc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-check",
        new URL("./campaign_mock_process.ts", import.meta.url).pathname,
        "--key-file",
        keyFile,
        "--key-id",
        key.keyId,
        "--team-id",
        key.teamId,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = mockProc.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let mockStats = {
      accepted: 0,
      lastAcceptedAt: 0,
      firstAccepts: [] as number[],
      burstStarts: [] as number[],
    };
    const nextLine = async (): Promise<string | null> => {
      while (!buffer.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) return null;
        buffer += value;
      }
      const at = buffer.indexOf("\n");
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      return line;
    };
    const first = JSON.parse((await nextLine())!);
    const caPem = await Deno.readTextFile(first.caFile);
    const reading = (async () => {
      for (let line = await nextLine(); line !== null; line = await nextLine()) {
        try {
          mockStats = JSON.parse(line).stats ?? mockStats;
        } catch { /* partial */ }
      }
    })();
    for (let i = 0; i < workerCount; i++) {
      workers.push(
        await spawnWorker({
          redisUrl: redis.url,
          redisClusterNodes: cluster?.seeds,
          masterKey,
          mock: { hosts: first.hosts, caPem },
          args: ["--concurrency", String(options.concurrency ?? 4)],
          v8Flags: options.v8Flags,
        }),
      );
    }
    let died = "";
    for (const w of workers) {
      w.child.status.then((st) => died ||= `worker ${w.pid} exited (code ${st.code})`);
    }
    mockProc.status.then((st) => died ||= `mock APNs process exited (code ${st.code})`);
    const record = await services.apps.get(appId);
    // A one-device send first: a worker in production holds long-lived APNs connections and a
    // shared provider token, so the timed campaign starts warm. Its own first push is reported
    // as the cold start.
    const warmPostedAt = Date.now();
    const warm = await services.sends.create(record, {
      audience: { installationIds: ["b0"] },
      notification: { title: "Warm-up" },
    });
    while ((await services.sends.get(appId, warm.body.sendId)).status !== "completed") {
      if (died) throw new Error(`campaign bench aborted: ${died}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    while (mockStats.accepted < 1) await new Promise((r) => setTimeout(r, 50));
    const coldFirstPushMs = mockStats.firstAccepts[0] - warmPostedAt;
    // One timed campaign to the whole segment; run again on the same worker when asked.
    const timedCampaign = async () => {
      const acceptedBefore = mockStats.accepted;
      const cpuBefore = await Promise.all(workers.map((w) => procStats(w.pid)));
      const redisCpuBefore = await redisCpuMs(redis.url);
      log(`idle worker RSS peak so far: ${cpuBefore.map((s) => s?.hwmKb).join(", ")} kB`);
      const started = performance.now();
      const postedAt = Date.now();
      const { body } = await services.sends.create(record, {
        audience: { segment: "bench" },
        notification: { title: "Bench", body: "A campaign notification" },
      });
      const sendId = body.sendId;
      let view = await services.sends.get(appId, sendId);
      let lastLog = 0;
      let resolvedAt = 0;
      while (view.status !== "completed" && view.status !== "failed") {
        if (died) throw new Error(`campaign bench aborted: ${died}`);
        await new Promise((r) => setTimeout(r, 50));
        view = await services.sends.get(appId, sendId);
        if (!resolvedAt && (await services.sends.store.load(appId, sendId))?.resolved) {
          resolvedAt = Date.now();
        }
        if (performance.now() - lastLog > 5_000) {
          lastLog = performance.now();
          log(`${view.status} accepted=${view.counts.accepted}`);
        }
      }
      const seconds = (performance.now() - started) / 1000;
      if (view.status === "failed" || view.counts.targeted !== recipients) {
        throw new Error(`the campaign failed or missed recipients: ${JSON.stringify(view)}`);
      }
      if (view.counts.accepted < recipients) {
        log(
          `not accepted: ${JSON.stringify(view.counts)} failures ${JSON.stringify(view.failures)}`,
        );
      }
      const cpuAfter = await Promise.all(workers.map((w) => procStats(w.pid)));
      const redisCpu = await redisCpuMs(redis.url) - redisCpuBefore;
      const cpuMs = cpuAfter.reduce(
        (sum, s, i) => sum + (s && cpuBefore[i] ? s.cpuMs - cpuBefore[i]!.cpuMs : 0),
        0,
      );
      const hwm = Math.max(...cpuAfter.map((s) => s?.hwmKb ?? 0));
      await new Promise((r) => setTimeout(r, 600)); // the mock reports its stats every 500 ms
      const campaignMockAccepted = mockStats.accepted - acceptedBefore;
      const firstAcceptedAt = mockStats.burstStarts.find((t) => t >= postedAt) ?? 0;
      const { lastAcceptedAt } = mockStats;
      return {
        seconds,
        view,
        cpuMs,
        hwm,
        redisCpu,
        postedAt,
        firstAcceptedAt,
        lastAcceptedAt,
        campaignMockAccepted,
        resolvedAt,
      };
    };
    const runs = [await timedCampaign()];
    if (options.againOnSameWorker) runs.push(await timedCampaign());
    // Relay-only runs while the workers still hold their idle connections. (The order dates from
    // when the mock's HTTP/2 ran in Deno, whose server could abort on the GOAWAY of a worker's
    // graceful stop, denoland/deno#36788; it now runs under Node.)
    const relayRow = options.relayOnly === false ? null : await relayOnly({
      n: Math.min(recipients, 200_000),
      hosts: first.hosts,
      caPem,
      key,
      redis: services.redis,
    });
    for (const w of workers) await w.stop();
    try {
      mockProc.kill("SIGTERM");
    } catch { /* already gone: see above */ }
    await mockProc.status;
    await reading;
    // h2load gets a fresh mock process of the same kind: any client's closing GOAWAY may have
    // taken the first one down (see above).
    const ceilingAfter = await h2loadCeiling(keyFile, key, Math.min(recipients, 100_000));
    const ceilingRuns = [ceilingBefore.perSecond, ceilingAfter.perSecond];
    const measured = ceilingRuns.filter((n): n is number => n !== null);
    const ceiling = {
      perSecond: measured.length
        ? Math.round(measured.reduce((a, b) => a + b, 0) / measured.length)
        : null,
    };
    for (const note of new Set([ceilingBefore.note, ceilingAfter.note])) {
      if (note) log(`h2load: ${note}`);
    }
    const rows: CampaignBenchRow[] = runs.map((run, i) => {
      const row: CampaignBenchRow = {
        name: `campaign: segment → ${workerCount} worker process(es) → mock APNs process` +
          (cluster ? " (cluster mode)" : "") + (i > 0 ? ", again on the same worker" : ""),
        recipients,
        seconds: Number(run.seconds.toFixed(2)),
        notificationsPerSecond: Math.round(run.view.counts.accepted / run.seconds),
        cpuMsPer1k: run.cpuMs
          ? Number((run.cpuMs / (run.view.counts.accepted / 1000)).toFixed(1))
          : null,
        peakRssMb: run.hwm ? Number((run.hwm / 1024).toFixed(1)) : null,
        redisCpuMsPer1k: Number((run.redisCpu / (run.view.counts.accepted / 1000)).toFixed(1)),
        accepted: run.view.counts.accepted,
        mockAccepted: run.campaignMockAccepted,
        ...flowFigures({
          postedAt: run.postedAt,
          firstAcceptedAt: run.firstAcceptedAt,
          lastAcceptedAt: run.lastAcceptedAt,
          accepted: run.campaignMockAccepted,
        }),
        h2loadPerSecond: ceiling.perSecond,
        h2loadRuns: ceilingRuns,
        coldFirstPushMs,
        resolvedMs: run.resolvedAt ? run.resolvedAt - run.postedAt : null,
      };
      const flow = row.firstToLastPerSecond;
      row.ofCeiling = flow && ceiling.perSecond
        ? Number((flow / ceiling.perSecond).toFixed(2))
        : null;
      return row;
    });
    if (relayRow) rows.push(relayRow);
    return rows;
  } finally {
    for (const w of workers) await w.stop("SIGKILL");
    try {
      mockProc?.kill("SIGKILL");
      await mockProc?.status;
    } catch { /* gone */ }
    await services.relay.close();
    await redis.stop();
    await cluster?.stop();
    await Deno.remove(keyFile).catch(() => {});
  }
}

/** h2load against a fresh `campaign_mock_process.ts`. */
async function h2loadCeiling(
  keyFile: string,
  key: { teamId: string; keyId: string; privateKeyPem: string },
  n: number,
): Promise<{ perSecond: number | null; note: string }> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: [
      ...[
        "run",
        "-A",
        "--no-check",
        new URL("./campaign_mock_process.ts", import.meta.url).pathname,
      ],
      ...["--key-file", keyFile, "--key-id", key.keyId, "--team-id", key.teamId],
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) return { perSecond: null, note: "the mock process exited" };
      text += value;
    }
    const hosts = JSON.parse(text.slice(0, text.indexOf("\n"))).hosts;
    const host = String(hosts.production).replace(/^localhost:/, "127.0.0.1:");
    return await runH2load({ n, host, key, topic: "com.example.bench" });
  } finally {
    try {
      proc.kill("SIGTERM"); // it removes its CA file on SIGTERM
    } catch { /* gone */ }
    await reader.cancel().catch(() => {});
    await proc.status;
  }
}

/** First push after the POST, and the rate from the first accepted push to the last. */
function flowFigures(at: {
  postedAt: number;
  firstAcceptedAt: number;
  lastAcceptedAt: number;
  accepted: number;
}): Pick<CampaignBenchRow, "firstPushMs" | "firstToLastPerSecond"> {
  if (!at.firstAcceptedAt) return { firstPushMs: null, firstToLastPerSecond: null };
  const span = (at.lastAcceptedAt - at.firstAcceptedAt) / 1000;
  return {
    firstPushMs: at.firstAcceptedAt - at.postedAt,
    firstToLastPerSecond: span > 0 ? Math.round((at.accepted - 1) / span) : null,
  };
}

/**
 * The same relay, called directly from one process (no Redis queue, no registry, no claims):
 * the ceiling the campaign pipeline is measured against, to the same mock process.
 */
async function relayOnly(options: {
  n: number;
  hosts: Record<"production" | "development", string>;
  caPem: string;
  key: { teamId: string; keyId: string; privateKeyPem: string };
  redis: Parameters<typeof createRelay>[0]["redis"];
}): Promise<CampaignBenchRow> {
  const relay = createRelay({
    redis: options.redis,
    transport: { hosts: options.hosts, caPem: options.caPem },
  });
  const app = {
    bundleId: "com.example.bench",
    credential: { kind: "token" as const, ...options.key },
  };
  const message = {
    body: buildPayload({ pushType: "alert", notification: { title: "Bench" } }).body,
    headers: buildHeaders({ bundleId: app.bundleId, pushType: "alert" }),
  };
  const recipient = (i: number) => ({
    installationId: `b${i}`,
    token: "0".repeat(56) + i.toString(16).padStart(8, "0"),
    environment: "production" as const,
    registeredAt: 0,
  });
  try {
    await relay.sendBatch(app, message, [recipient(0)]); // connect and mint outside the clock
    const usage = (globalThis as unknown as {
      process: {
        cpuUsage(previous?: { user: number; system: number }): { user: number; system: number };
      };
    }).process;
    const cpu0 = usage.cpuUsage();
    const started = performance.now();
    let accepted = 0;
    let next = 0;
    const chunk = 250;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < options.n) {
        const from = next;
        next += chunk;
        const batch = Array.from(
          { length: Math.min(chunk, options.n - from) },
          (_, k) => recipient(from + k),
        );
        const results = await relay.sendBatch(app, message, batch);
        accepted += results.filter((r) => r.status === "accepted").length;
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    const cpu = usage.cpuUsage(cpu0);
    return {
      name: "relay only: relay.sendBatch in one process (4 × 250 in flight) → same mock process",
      recipients: options.n,
      seconds: Number(seconds.toFixed(2)),
      notificationsPerSecond: Math.round(accepted / seconds),
      cpuMsPer1k: Number((((cpu.user + cpu.system) / 1000) / (accepted / 1000)).toFixed(1)),
      peakRssMb: null,
      accepted,
      mockAccepted: 0,
    };
  } finally {
    await relay.close();
  }
}

/** The relay-only rows of `send_bench.ts` (the APNs engineer's), when it exists. */
export async function relayOnlyRows(n = 100_000): Promise<unknown[]> {
  try {
    const mod = await import(new URL("./send_bench.ts", import.meta.url).href);
    if (typeof mod.runSendBench !== "function") return [];
    const rows = await mod.runSendBench({ n });
    return Array.isArray(rows) ? rows : [rows];
  } catch (error) {
    console.error(`(relay-only figure unavailable: ${(error as Error).message})`);
    return [];
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      recipients: { type: "string", default: "20000,100000" },
      workers: { type: "string", default: "1" },
      concurrency: { type: "string", default: "4" },
      "no-relay": { type: "boolean", default: false },
      // Default: `deno task worker`'s flags; "none" runs V8's defaults.
      "v8-flags": { type: "string", default: "" },
      "first-only": { type: "boolean", default: false },
    },
  });
  const sizes = values.recipients.split(",").map(Number);
  const rows: unknown[] = [];
  const flow: unknown[] = [];
  for (const recipients of sizes) {
    const result = await runCampaignBench({
      recipients,
      workers: Number(values.workers),
      concurrency: Number(values.concurrency),
      v8Flags: values["v8-flags"] === "none"
        ? undefined
        : values["v8-flags"]
        ? values["v8-flags"].split(",")
        : await workerTaskV8Flags(),
      verbose: true,
      againOnSameWorker: !values["first-only"],
    });
    rows.push(...result);
    result.filter((row) => row.name.startsWith("campaign")).forEach((campaign, i) => {
      flow.push({
        recipients,
        "worker's campaign": i === 0 ? "first" : "second",
        "first push after POST (ms)": campaign.firstPushMs,
        "fresh worker's first push (ms)": campaign.coldFirstPushMs,
        "audience resolved (ms)": campaign.resolvedMs,
        "first→last accepted/s": campaign.firstToLastPerSecond,
        "h2load ceiling/s (same mock)": campaign.h2loadPerSecond,
        "h2load before, after": campaign.h2loadRuns?.join(", "),
        "of ceiling": campaign.ofCeiling,
        "POST→completed/s": campaign.notificationsPerSecond,
        "worker CPU ms/1k": campaign.cpuMsPer1k,
        "Redis CPU ms/1k": campaign.redisCpuMsPer1k,
      });
    });
  }
  if (!values["no-relay"]) rows.push(...await relayOnlyRows(Math.max(...sizes)));
  console.table(rows);
  console.log("\ncampaign flow beside h2load, same mock process (targets: first push ≤ 300 ms;");
  console.log(
    "20k ≥ 0.7 and 100k ≥ 0.8 of the ceiling, first accepted push to last). Each size runs",
  );
  console.log("twice on one worker: its first campaign (hot paths still compiling) and a second:");
  console.table(flow);
}
