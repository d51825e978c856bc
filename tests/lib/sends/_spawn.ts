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
  // Keep draining stdout so the child never blocks on a full pipe.
  const drained = (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch { /* closed */ }
  })();
  let stopped: Promise<void> | undefined;
  return {
    pid: child.pid,
    child,
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
