/**
 * Registration benchmark: the real server (`deno run -A main.ts`, REDIS_URL mode) against a
 * private redis-server, loaded by `wrk` from a second process with unique tokens; beside it a
 * bare Hono handler doing one Redis call, same wrk settings. Reports registrations/s, p50/p99
 * latency and Redis work per registration from `INFO commandstats` deltas, with the SDK rate
 * limiter off and on. A third reference, the bare handler calling the registration script
 * itself (`registration_baseline_server.ts … register`), shows how much of the gap to the bare handler is the
 * Redis work a registration needs and how much the HTTP layers around it.
 *
 * `deno run -A tests/bench/registration.ts [--duration=10] [--connections=64] [--threads=2]`
 *
 * @module
 */
import IORedis from "ioredis";
import { freePort, startRedisServer } from "../../lib/redis/mod.ts";
import { createRedis } from "../../lib/redis/mod.ts";
import { createRegistry } from "../../lib/registry/mod.ts";
import { generateApnsKey } from "../support/harness.ts";
import { startTestCluster } from "../support/redis_cluster.ts";
import { measureRegistrationInstructions } from "./registration_instructions.ts";

/** Options of {@linkcode runRegistrationBench}. */
export interface RegistrationBenchOptions {
  /** Seconds per wrk run. Default: 10. */
  durationSeconds?: number;
  /** wrk connections. Default: 64. */
  connections?: number;
  /** wrk threads. Default: 2. */
  threads?: number;
  /** Which runs. Default: all four. */
  runs?: Array<"edgepush" | "edgepush+ratelimit" | "script" | "baseline">;
  /**
   * Run edgepush in cluster mode against a private 3-master, 3-replica Redis Cluster
   * (`REDIS_CLUSTER_NODES`) instead of one redis-server; the references are then skipped. The app,
   * hence every registration, lives on one master. Default: false.
   */
  cluster?: boolean;
}

/** One row of the result table. */
export interface RegistrationBenchRow {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  /** FCALL/EVALSHA/EVAL per request: client round trips (all Redis work here is functions and
   * scripts, except the app lookup, cached 2 s, and the baseline's SET). */
  roundTripsPerRequest: number;
  /** Every Redis command per request, including those run inside scripts. */
  redisCommandsPerRequest: number;
  /** Redis CPU per function or script call (FCALL/EVALSHA/EVAL; the baseline's SET), µs:
   * `usec_per_call`. */
  redisUsecPerCall: number;
  /** CPU time of the server process (every thread: user + system) per request, µs. */
  serverCpuUsPerRequest: number;
  /** requestsPerSecond against the bare handler's in the same run (when it ran). */
  ofBare?: number;
}

/** The reference servers (`registration_baseline_server.ts`): its Redis call, and the row's name. */
const REFERENCES = {
  baseline: { call: "set", name: "bare Hono + 1 Redis SET" },
  script: { call: "register", name: "bare Hono + the registration script (limiter on)" },
} as const;

/** A process' CPU time so far (user + system, every thread), ms, from /proc. */
async function cpuMs(pid: number): Promise<number> {
  const stat = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
  // utime and stime, fields 14 and 15, in clock ticks (100 per second on Linux).
  return (Number(stat[11]) + Number(stat[12])) * 10;
}

const ADMIN_TOKEN = "bench-admin-token-0123456789";

const WRK_SCRIPT = `
local counter = 0
local threads = {}
local id = 0
function setup(thread)
  id = id + 1
  thread:set("tid", id)
end
function init(args)
  salt = args[1] or "0"
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local token = string.format("%s%08x%08x", salt, tid, counter)
  return wrk.format(nil, nil, nil,
    '{"token":"' .. token .. '","environment":"production","attributes":{"appVersion":"1.0.0"}}')
end
`;

async function commandStats(nodes: IORedis.default[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const io of nodes) {
    const info = String(await io.info("commandstats"));
    for (const m of info.matchAll(/cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/g)) {
      out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[2]));
      out.set(`usec:${m[1]}`, (out.get(`usec:${m[1]}`) ?? 0) + Number(m[3]));
    }
  }
  return out;
}

/** Redis CPU per call of `names` between two readings, µs (`usec` / `calls` deltas). */
function usecPerCall(a: Map<string, number>, b: Map<string, number>, names: string[]): number {
  let calls = 0, usec = 0;
  for (const name of names) {
    calls += (b.get(name) ?? 0) - (a.get(name) ?? 0);
    usec += (b.get(`usec:${name}`) ?? 0) - (a.get(`usec:${name}`) ?? 0);
  }
  return calls > 0 ? +(usec / calls).toFixed(1) : NaN;
}

function delta(a: Map<string, number>, b: Map<string, number>, names?: string[]): number {
  let n = 0;
  for (const [k, v] of b) {
    if (k === "info" || k.startsWith("usec:")) continue;
    if (names && !names.includes(k)) continue;
    n += v - (a.get(k) ?? 0);
  }
  return n;
}

async function waitHttp(url: string, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    try {
      const res = await fetch(url, { method: "GET" });
      await res.body?.cancel();
      return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

function parseLatency(text: string, pct: string): number {
  const m = new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

async function runWrk(
  url: string,
  headers: Record<string, string>,
  opts: Required<Omit<RegistrationBenchOptions, "runs" | "cluster">>,
  salt: string,
) {
  const scriptPath = await Deno.makeTempFile({ suffix: ".lua" });
  await Deno.writeTextFile(scriptPath, WRK_SCRIPT);
  const args = [
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${opts.durationSeconds}s`,
    "--latency",
    "-s",
    scriptPath,
    ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
    url,
    "--",
    salt,
  ];
  const out = await new Deno.Command("wrk", { args, stdout: "piped", stderr: "piped" }).output();
  await Deno.remove(scriptPath);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`wrk failed: ${text}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  return { rps, requests, non2xx, p50: parseLatency(text, "50"), p99: parseLatency(text, "99") };
}

function spawn(args: string[], env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* gone */ }
  await child.status;
}

/** Runs the benchmark and returns one row per run. Needs `wrk` and `redis-server` on PATH. */
export async function runRegistrationBench(
  options: RegistrationBenchOptions = {},
): Promise<RegistrationBenchRow[]> {
  const opts = {
    durationSeconds: options.durationSeconds ?? 10,
    connections: options.connections ?? 64,
    threads: options.threads ?? 2,
  };
  const runs = (options.runs ?? ["edgepush", "edgepush+ratelimit", "script", "baseline"])
    .filter((run) => !options.cluster || !(run in REFERENCES));
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-bench-" });
  const cluster = options.cluster ? await startTestCluster() : null;
  const redisServer = cluster
    ? { url: cluster.seeds[0], stop: () => cluster.stop() }
    : await startRedisServer({ dataDir, appendOnly: false });
  const nodes = cluster
    ? (await cluster.masters()).map((port) => new IORedis.default({ host: "127.0.0.1", port }))
    : [new IORedis.default(redisServer.url)];
  const redisEnv: Record<string, string> = cluster
    ? { REDIS_CLUSTER_NODES: cluster.seeds.join(",") }
    : { REDIS_URL: redisServer.url };
  const root = new URL("../../", import.meta.url).pathname;
  const masterKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
  const rows: RegistrationBenchRow[] = [];
  try {
    for (const run of runs) {
      const port = freePort();
      const reference = run === "baseline" || run === "script" ? REFERENCES[run] : null;
      const child = reference
        ? spawn([
          "run",
          "-A",
          `${root}tests/bench/registration_baseline_server.ts`,
          String(port),
          redisServer.url,
          reference.call,
        ], {})
        : spawn(["run", "-A", `${root}main.ts`], {
          PORT: String(port),
          ...redisEnv,
          ADMIN_TOKEN,
          MASTER_KEY: masterKey,
          LOG_LEVEL: "warn",
          WORKERS: "0",
          SDK_RATE_LIMIT_ENABLED: run === "edgepush" ? "false" : "true",
          // High enough never to refuse: the limiter's cost is what is measured.
          SDK_RATE_LIMIT_ADDRESS: "999999999/60s",
          SDK_RATE_LIMIT_INSTALLATION: "999999999/60s",
        });
      try {
        const base = `http://127.0.0.1:${port}`;
        const headers: Record<string, string> = {};
        if (reference) {
          await waitHttp(`${base}/`);
        } else {
          await waitHttp(`${base}/healthz`);
          const key = await generateApnsKey();
          const res = await fetch(`${base}/v1/apps`, {
            method: "POST",
            headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
            body: JSON.stringify({
              name: "bench",
              bundleId: "com.example.bench",
              apns: { teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKeyPem },
            }),
          });
          if (res.status !== 201) throw new Error(`create app: ${res.status} ${await res.text()}`);
          headers["X-App-Key"] = (await res.json()).appKey;
        }
        const url = `${base}/v1/sdk/installations`;
        // Warm-up: JIT, script cache, connections.
        await runWrk(url, headers, { ...opts, durationSeconds: 2 }, "aa".repeat(23) + "01");
        const before = await commandStats(nodes);
        const cpuBefore = await cpuMs(child.pid);
        const r = await runWrk(url, headers, opts, "aa".repeat(23) + "02");
        const cpuAfter = await cpuMs(child.pid);
        const after = await commandStats(nodes);
        rows.push({
          name: reference ? reference.name : `${run}${cluster ? " (cluster mode)" : ""}`,
          requestsPerSecond: Math.round(r.rps),
          p50Ms: r.p50,
          p99Ms: r.p99,
          requests: r.requests,
          non2xx: r.non2xx,
          roundTripsPerRequest: +(
            delta(before, after, run === "baseline" ? ["set"] : ["fcall", "evalsha", "eval"]) /
            r.requests
          ).toFixed(3),
          redisCommandsPerRequest: +(delta(before, after) / r.requests).toFixed(2),
          redisUsecPerCall: usecPerCall(
            before,
            after,
            run === "baseline" ? ["set"] : ["fcall", "evalsha", "eval"],
          ),
          serverCpuUsPerRequest: +((cpuAfter - cpuBefore) * 1000 / r.requests).toFixed(1),
        });
      } finally {
        await stop(child);
      }
    }
  } finally {
    for (const io of nodes) io.disconnect();
    await redisServer.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  const bare = rows.find((row) => row.name === REFERENCES.baseline.name);
  if (bare) {
    for (const row of rows) {
      row.ofBare = +(row.requestsPerSecond / bare.requestsPerSecond).toFixed(2);
    }
  }
  return rows;
}

/** Options of {@linkcode measureRegistrationScript}. */
export interface ScriptCostOptions {
  /** Registrations per measurement. Default: 20,000. */
  registrations?: number;
  /** Registrations in flight at once. Default: 64. */
  concurrency?: number;
}

/**
 * Redis CPU per registration call (`usec_per_call` of FCALL) with the registry driven directly
 * from this process, limiter off and on: the script's own cost, with Redis not sharing its core
 * with wrk and the server as it does in {@linkcode runRegistrationBench}.
 */
export async function measureRegistrationScript(
  options: ScriptCostOptions = {},
): Promise<Array<{ limiter: string; registrations: number; redisUsecPerCall: number }>> {
  const n = options.registrations ?? 20_000;
  const concurrency = options.concurrency ?? 64;
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-bench-" });
  const server = await startRedisServer({ dataDir, appendOnly: false });
  const { redis, close } = createRedis({ kind: "tcp", url: server.url });
  const io = new IORedis.default(server.url);
  const rows = [];
  try {
    for (const limiter of [false, true]) {
      const rule = { limit: 999_999_999, windowSeconds: 60 };
      const registry = createRegistry({
        redis,
        rateLimits: limiter ? { address: rule, installation: rule } : null,
      });
      const appId = `app_script_cost_${limiter ? "on" : "off"}`;
      const register = (i: number, salt: string) =>
        registry.register(appId, {
          token: salt + i.toString(16).padStart(63, "0"),
          environment: "production",
          attributes: { appVersion: "1.0.0" },
          client: "127.0.0.1",
        });
      for (let i = 0; i < 500; i++) await register(i, "a"); // warm-up: JIT, library load
      const before = await commandStats([io]);
      let next = 0;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < n) await register(next++, "b");
      }));
      const after = await commandStats([io]);
      rows.push({
        limiter: limiter ? "on" : "off",
        registrations: n,
        redisUsecPerCall: usecPerCall(before, after, ["fcall"]),
      });
    }
  } finally {
    io.disconnect();
    await close();
    await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  return rows;
}

if (import.meta.main) {
  const arg = (name: string) => {
    const hit = Deno.args.find((a) => a.startsWith(`--${name}=`));
    return hit ? Number(hit.split("=")[1]) : undefined;
  };
  const rows = await runRegistrationBench({
    durationSeconds: arg("duration"),
    connections: arg("connections"),
    threads: arg("threads"),
  });
  console.log(
    `registration bench (${navigator.hardwareConcurrency} cores, wrk -c${
      arg("connections") ?? 64
    })`,
  );
  console.table(rows);
  console.log(
    "Redis CPU per registration call, the registry driven directly (Redis not sharing its core " +
      "with wrk and the server; target ≤ 25 µs):",
  );
  console.table(await measureRegistrationScript());
  const instructions = await measureRegistrationInstructions();
  console.log(
    "Redis instructions per registration call under callgrind (repeatable to ~0.1% on a busy " +
      "machine, where the µs above are not), beside a bare SET:",
  );
  if (instructions) console.table(instructions);
  else console.log("(valgrind not found: skipped; apt-get install valgrind)");
}
