/**
 * The send workers, three ways:
 *
 * - in-process with `deno task start`: main.ts calls {@linkcode startWorkers} with `WORKERS`;
 * - as `deno task worker` (any number of processes share the stream): jobs/commands.ts calls
 *   {@linkcode runWorkerCommand} and stops it on SIGINT/SIGTERM;
 * - on Deno Deploy, a per-minute `Deno.cron` tick calls {@linkcode drainFor}, which works for a
 *   bounded time and returns early when the queue is empty.
 *
 * This file is also a standalone entry for tests and benchmarks that spawn worker processes
 * (`deno run -A jobs/send_worker.ts --redis-url …|--redis-cluster-nodes a,b,… --master-key …
 * [--apns-production host:port] [--apns-development host:port] [--apns-ca-file ca.pem]
 * [--apns-connections 2] [--stale-after-days 270] [--workers 1] [--concurrency 4]
 * [--claim-idle-ms 30000] [--uncertain skip|resend] [--stats-every-ms 0]`; with stats on,
 * SIGUSR1 prints a last line and freezes the process, for crash tests).
 * It reads its arguments, not the environment; the APNs and staleness ones are validated and
 * defaulted exactly as the server's `APNS_*` and `STALE_AFTER_DAYS` (lib/config.ts).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createSealedBox } from "../lib/crypto/sealed_box.ts";
import { createLogger } from "../lib/observability/logger.ts";
import { createMetrics } from "../lib/observability/metrics.ts";
import { createRedis } from "../lib/redis/mod.ts";
import type { WorkerOptions } from "../lib/sends/mod.ts";
import { createServices, type Services } from "../lib/services.ts";
import { type Config, parseConfig, serviceSettings } from "../lib/config.ts";

/** Options of {@linkcode startWorkers}. */
export interface StartWorkersOptions {
  services: Services;
  /** Workers (independent consumers) in this process. 0 starts none. */
  count: number;
  /** Stops the workers; each finishes the item it holds first. */
  signal: AbortSignal;
  /** Per-worker options (concurrency, claim idle time…); see lib/sends/worker.ts. */
  worker?: WorkerOptions;
}

/**
 * Starts `count` workers in this process. Resolves when they have all stopped (after
 * `signal` aborts). `deno task start` runs it with `WORKERS` (default 1).
 */
export async function startWorkers(options: StartWorkersOptions): Promise<void> {
  const workers = Array.from(
    { length: options.count },
    () => options.services.sends.createWorker(options.worker),
  );
  await Promise.all(workers.map((w) => w.run(options.signal)));
}

/**
 * Works on the shared queue for at most `ms` milliseconds, returning early once there is
 * nothing to do; returns the number of items handled. For a per-minute `Deno.cron` on Deploy:
 * `Deno.cron("send drain", "* * * * *", () => drainFor(services, 50_000))`.
 */
export async function drainFor(
  services: Services,
  ms: number,
  worker: WorkerOptions = {},
): Promise<number> {
  return await services.sends.createWorker(worker).drain(ms);
}

/**
 * `deno task worker`: runs `count` workers until `signal` aborts, then closes the relay's
 * connections. jobs/commands.ts wires SIGINT/SIGTERM to `signal`.
 */
export async function runWorkerCommand(options: StartWorkersOptions): Promise<void> {
  options.services.logger.info("send workers started", { count: options.count });
  try {
    await startWorkers(options);
  } finally {
    await options.services.relay.close();
    options.services.logger.info("send workers stopped");
  }
}

async function cli(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      "redis-url": { type: "string" },
      "redis-cluster-nodes": { type: "string" },
      "master-key": { type: "string" },
      "apns-production": { type: "string" },
      "apns-development": { type: "string" },
      "apns-ca-file": { type: "string" },
      "apns-connections": { type: "string" },
      "stale-after-days": { type: "string" },
      workers: { type: "string", default: "1" },
      concurrency: { type: "string", default: "4" },
      "claim-idle-ms": { type: "string", default: "30000" },
      uncertain: { type: "string", default: "skip" },
      "log-level": { type: "string", default: "warn" },
      "stats-every-ms": { type: "string", default: "0" },
    },
  });
  const cluster = values["redis-cluster-nodes"];
  if ((!values["redis-url"] && !cluster) || !values["master-key"]) {
    console.error(
      "usage: send_worker.ts --redis-url redis://…|--redis-cluster-nodes redis://…,… " +
        "--master-key <base64> [options]",
    );
    Deno.exit(2);
  }
  // The same validation and defaults as the server's environment (lib/config.ts).
  let config: Config;
  try {
    config = parseConfig({
      APNS_HOST_PRODUCTION: values["apns-production"],
      APNS_HOST_DEVELOPMENT: values["apns-development"],
      APNS_CONNECTIONS: values["apns-connections"],
      STALE_AFTER_DAYS: values["stale-after-days"],
    });
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(2);
  }
  const handle = cluster
    ? createRedis({ kind: "cluster", nodes: cluster.split(",") })
    : createRedis({ kind: "tcp", url: values["redis-url"]! });
  const logger = createLogger({
    level: values["log-level"] as "warn",
    fields: { service: "edgepush-worker", pid: Deno.pid },
  });
  const services = createServices({
    redis: handle.redis,
    box: await createSealedBox(values["master-key"]),
    logger,
    metrics: createMetrics(),
    ...serviceSettings(
      config,
      values["apns-ca-file"] ? await Deno.readTextFile(values["apns-ca-file"]) : undefined,
    ),
    // Workers serve no SDK calls.
    sdkRateLimit: null,
  });
  const controller = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => controller.abort());
  }
  await services.sends.queue.ensureGroup();
  console.log(JSON.stringify({ ready: true, pid: Deno.pid }));
  const ticker = crashProbe(services, Number(values["stats-every-ms"]));
  await runWorkerCommand({
    services,
    count: Number(values.workers),
    signal: controller.signal,
    worker: {
      concurrency: Number(values.concurrency),
      claimIdleMs: Number(values["claim-idle-ms"]),
      uncertain: values.uncertain === "resend" ? "resend" : "skip",
    },
  });
  clearInterval(ticker);
  await handle.close();
}

/**
 * For crash tests: what the worker holds (claims on their way, pushes in flight, outcomes not
 * yet written), printed every `everyMs`; on SIGUSR1 one last line, then the process freezes,
 * its state exactly as reported, until the test kills it.
 */
function crashProbe(
  services: Services,
  everyMs: number,
): ReturnType<typeof setInterval> | undefined {
  if (!(everyMs > 0)) return undefined;
  const stats = () => {
    const { inFlight, answered, claiming } = services.sends.deliverer.stats;
    const unrecorded = services.sends.recorder.pending;
    return { at: Date.now(), inFlight, answered, unrecorded, claiming };
  };
  Deno.addSignalListener("SIGUSR1", () => {
    console.log(JSON.stringify({ stats: { ...stats(), frozen: true } }));
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  });
  return setInterval(() => console.log(JSON.stringify({ stats: stats() })), everyMs);
}

if (import.meta.main) await cli(Deno.args);
