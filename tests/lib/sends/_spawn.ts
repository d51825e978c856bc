/**
 * Spawns send-worker child processes (`jobs/send_worker.ts`) against a test Redis and the mock
 * APNs, for crash and benchmark tests. Children are killed and awaited by `stop()`.
 *
 * @module
 */
import type { MockApns } from "../../support/mock_apns.ts";

const ENTRY = new URL("../../../jobs/send_worker.ts", import.meta.url).pathname;

/** A running worker process. */
export interface WorkerProcess {
  pid: number;
  child: Deno.ChildProcess;
  /** Kills with `signal` (default SIGTERM) and waits for exit; safe to call twice. */
  stop(signal?: Deno.Signal): Promise<void>;
  /** The latest `--stats-every-ms` samples the worker printed, oldest first (at most 100). */
  readonly samples: readonly WorkerSample[];
}

/** One stats line of a worker started with `--stats-every-ms`. */
export interface WorkerSample {
  /** When it was taken (epoch ms, the worker's clock). */
  at: number;
  /** Recipients dispatched (sent to APNs) and not yet answered. */
  inFlight: number;
  /** Outcomes known so far. */
  answered: number;
  /** Outcomes answered and not yet handed to Redis by the recorder. */
  unrecorded: number;
  /** Recipients whose claim is on its way to Redis and back, sent right after it. */
  claiming: number;
  /** Set on the line printed on SIGUSR1, after which the worker is frozen. */
  frozen?: boolean;
}

/** Options of {@linkcode spawnWorker}. */
export interface SpawnOptions {
  redisUrl: string;
  /** Seed URLs of a Redis Cluster: cluster mode instead of `redisUrl`. */
  redisClusterNodes?: string[];
  masterKey: string;
  /** Where APNs is: the mock's hosts and CA. */
  mock: Pick<MockApns, "hosts" | "caPem">;
  /** Extra CLI flags (e.g. `["--claim-idle-ms", "2000"]`). */
  args?: string[];
  /** Extra V8 flags for the child. */
  v8Flags?: string[];
}

/** Spawns one worker process and waits until it says it is ready. */
export async function spawnWorker(options: SpawnOptions): Promise<WorkerProcess> {
  const caFile = await Deno.makeTempFile({ prefix: "edgepush-ca-", suffix: ".pem" });
  await Deno.writeTextFile(caFile, options.mock.caPem);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      ...(options.v8Flags?.length ? [`--v8-flags=${options.v8Flags.join(",")}`] : []),
      ENTRY,
      ...(options.redisClusterNodes
        ? ["--redis-cluster-nodes", options.redisClusterNodes.join(",")]
        : ["--redis-url", options.redisUrl]),
      "--master-key",
      options.masterKey,
      "--apns-production",
      options.mock.hosts.production,
      "--apns-development",
      options.mock.hosts.development,
      "--apns-ca-file",
      caFile,
      ...(options.args ?? []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const deadline = Date.now() + 30_000;
  try {
    while (!buffered.includes('"ready":true')) {
      if (Date.now() > deadline) throw new Error("worker did not start in 30s");
      const { value, done } = await reader.read();
      if (done) throw new Error(`worker exited before it was ready: ${buffered}`);
      buffered += value;
    }
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    throw error;
  }
  // Keep draining stdout so the child never blocks on a full pipe; keep its stats lines.
  const samples: WorkerSample[] = [];
  const take = (line: string) => {
    if (!line.startsWith('{"stats"')) return;
    try {
      samples.push(JSON.parse(line).stats);
      if (samples.length > 100) samples.shift();
    } catch { /* not a stats line */ }
  };
  buffered = buffered.slice(buffered.indexOf('"ready":true'));
  const drained = (async () => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        let at: number;
        while ((at = buffered.indexOf("\n")) >= 0) {
          take(buffered.slice(0, at));
          buffered = buffered.slice(at + 1);
        }
      }
    } catch { /* closed */ }
  })();
  let stopped: Promise<void> | undefined;
  return {
    pid: child.pid,
    child,
    samples,
    stop(signal: Deno.Signal = "SIGTERM") {
      stopped ??= (async () => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
        await child.status;
        await drained;
        await Deno.remove(caFile).catch(() => {});
      })();
      return stopped;
    },
  };
}

/** Peak resident set size (kB) of a process, from /proc (Linux); null elsewhere. */
export async function peakRssKb(pid: number): Promise<number | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}
