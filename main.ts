/**
 * edgepush's composition root: reads the environment once, builds the Redis and APNs clients,
 * registers cron jobs, and serves HTTP. Subcommands:
 *
 * - `start` (default): the API, with `WORKERS` send workers in-process and the cron jobs;
 * - `worker`: send workers only (any number of processes share the queue);
 * - `sync [--app id]… [--full|--incremental]`: the daily segment sync, now, with progress;
 * - `migrate [--app id]…`: rewrites data of an older edgepush into the current layout;
 * - `redis-http`: the Upstash REST gateway in front of `REDIS_URL`;
 * - `push …`: one notification straight to APNs, no Redis (see lib/dispatch/push_cli.ts).
 *
 * In embedded mode `start` writes the private server's URL to `DATA_DIR/redis.url`, so `worker`,
 * `sync` and `redis-http` run without configuration against the same data.
 *
 * @module
 */
import { parseConfig, redisMode, serviceSettings } from "./lib/config.ts";
import type { Config } from "./lib/config.ts";
import { createSealedBox } from "./lib/crypto/sealed_box.ts";
import { loadEmbeddedSecrets } from "./lib/embedded/secrets.ts";
import { createLogger, type Logger } from "./lib/observability/logger.ts";
import { createMetrics } from "./lib/observability/metrics.ts";
import {
  createRedis,
  DataDirInUse,
  type RedisHandle,
  RedisServerMissing,
  type RedisTarget,
  startRedisServer,
} from "./lib/redis/mod.ts";
import { preflightRedis } from "./lib/redis/preflight.ts";
import { createServices, type Services } from "./lib/services.ts";
import { runMigrateCli } from "./lib/registry/mod.ts";
import { createApp } from "./routes/mod.ts";
import { runSyncCli, SEGMENT_SYNC_CRON_NAME, segmentSyncCron } from "./jobs/segment_sync.ts";
import { drainFor, runWorkerCommand, startWorkers } from "./jobs/send_worker.ts";
import { runTokenProbes, TOKEN_PROBE_CRON_NAME } from "./jobs/token_probe.ts";
import {
  CERTIFICATE_EXPIRY_CRON,
  CERTIFICATE_EXPIRY_CRON_NAME,
  logExpiringCertificates,
} from "./jobs/certificate_expiry.ts";
import { runPushCli } from "./lib/dispatch/push_cli.ts";
import { createClusterRequester, createGateway, createTcpRequester } from "./lib/redis/mod.ts";

const command = Deno.args[0] ?? "start";
const COMMANDS = ["start", "worker", "sync", "migrate", "redis-http", "push"];
/** The per-minute cron drains the send queue for at most this long (Deploy's cron budget). */
const DRAIN_MS = 50_000;

function loadConfig(): Config {
  try {
    return parseConfig(Deno.env.toObject());
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(2);
  }
}

/** A running set of services plus what must be released on shutdown. */
interface Runtime {
  config: Config;
  services: Services;
  adminToken: string;
  logger: Logger;
  shutdown: Array<() => Promise<void>>;
}

function embeddedUrlFile(config: Config): string {
  return `${config.DATA_DIR}/redis.url`;
}

/**
 * How a secondary command (worker, sync, redis-http) reaches Redis: the configured one, or the
 * embedded server a running `deno task start` recorded.
 */
async function secondaryRedisTarget(
  config: Config,
): Promise<RedisTarget & { recordedIn?: string }> {
  const mode = redisMode(config);
  if (mode === "tcp") return { kind: "tcp", url: config.REDIS_URL! };
  if (mode === "cluster") return { kind: "cluster", nodes: config.REDIS_CLUSTER_NODES! };
  if (mode === "rest") {
    return {
      kind: "rest",
      url: config.UPSTASH_REDIS_REST_URL!,
      token: config.UPSTASH_REDIS_REST_TOKEN!,
    };
  }
  try {
    const url = (await Deno.readTextFile(embeddedUrlFile(config))).trim();
    return { kind: "tcp", url, recordedIn: embeddedUrlFile(config) };
  } catch {
    console.error(
      `no Redis configured and no embedded edgepush running (${embeddedUrlFile(config)} is ` +
        "missing). Start `deno task start` first, or set REDIS_URL or UPSTASH_REDIS_REST_URL + " +
        "UPSTASH_REDIS_REST_TOKEN.",
    );
    Deno.exit(2);
  }
}

/**
 * Creates the Redis handle for `target` and PINGs it once. A refused credential, a Redis that does
 * not answer, or a `redis.url` whose `deno task start` is gone stops the process with one line
 * naming what to fix (a supervisor's restart retries a Redis that was only briefly away).
 */
async function connectRedis(target: RedisTarget & { recordedIn?: string }): Promise<RedisHandle> {
  const handle = createRedis(target);
  const source = target.kind === "rest"
    ? { address: "UPSTASH_REDIS_REST_URL", credential: "UPSTASH_REDIS_REST_TOKEN" }
    : target.kind === "cluster"
    ? { address: "REDIS_CLUSTER_NODES" }
    : { address: target.recordedIn ?? "REDIS_URL" };
  const result = await preflightRedis(handle.redis, target, source);
  if (result.ok) return handle;
  await handle.close();
  console.error(
    result.kind === "unreachable"
      ? `${target.recordedIn} names a Redis that no longer answers: the \`deno task start\` that ` +
        "wrote it has stopped. Start it again (`deno task start`), then rerun this command."
      : result.message,
  );
  Deno.exit(result.kind === "refused" ? 2 : 1);
}

/** Stops with one line when `PORT` is taken, before anything (the embedded Redis) starts. */
function ensurePortFree(port: number) {
  try {
    Deno.listen({ port, hostname: "0.0.0.0" }).close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    portInUse(port);
  }
}

function portInUse(port: number): never {
  console.error(
    `PORT ${port} is already in use (another edgepush, or another program): stop it, or set ` +
      `PORT to a free port (PORT=${port + 1} deno task start).`,
  );
  Deno.exit(1);
}

async function readCaFile(path: string | undefined): Promise<string | undefined> {
  if (!path) return undefined;
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    console.error(
      `APNS_CA_FILE=${path} cannot be read (${(error as Error).message.split(":")[0]}): give ` +
        "the path of the PEM CA to trust for APNs (a mock's, e.g. the file `deno task mock-apns " +
        "--ca-out` wrote), or unset it to trust only the system's CAs.",
    );
    Deno.exit(2);
  }
}

async function boot(config: Config, logger: Logger): Promise<Runtime> {
  const shutdown: Array<() => Promise<void>> = [];
  const mode = redisMode(config);
  let handle: RedisHandle;
  let adminToken = config.ADMIN_TOKEN;
  let masterKey = config.MASTER_KEY;
  if (mode === "embedded" && command === "start") {
    const secrets = await loadEmbeddedSecrets(config.DATA_DIR, { adminToken, masterKey });
    adminToken = secrets.adminToken;
    masterKey = secrets.masterKey;
    if (secrets.generated.includes("ADMIN_TOKEN")) {
      // Printed once, at creation, so the operator can copy it; never logged again.
      console.log(
        `\nedgepush generated an admin token (saved in ${config.DATA_DIR}/secrets.json):\n\n` +
          `  ADMIN_TOKEN=${adminToken}\n`,
      );
    }
    let server;
    try {
      server = await startRedisServer({ dataDir: `${config.DATA_DIR}/redis` });
    } catch (error) {
      if (error instanceof RedisServerMissing || error instanceof DataDirInUse) {
        console.error(error.message);
        Deno.exit(1);
      }
      throw error;
    }
    logger.info("embedded redis-server started", { port: server.port, dataDir: config.DATA_DIR });
    handle = createRedis({ kind: "tcp", url: server.url });
    await Deno.writeTextFile(embeddedUrlFile(config), server.url);
    shutdown.push(async () => {
      await Deno.remove(embeddedUrlFile(config)).catch(() => {});
      await server.stop();
    });
  } else if (mode === "embedded") {
    // A worker or sync beside a running embedded `start`: same server, same persisted secrets.
    handle = await connectRedis(await secondaryRedisTarget(config));
    const secrets = await loadEmbeddedSecrets(config.DATA_DIR, { adminToken, masterKey });
    adminToken = secrets.adminToken;
    masterKey = secrets.masterKey;
  } else {
    handle = await connectRedis(await secondaryRedisTarget(config));
  }
  shutdown.unshift(() => handle.close());
  if (!adminToken || !masterKey) {
    console.error(
      "ADMIN_TOKEN and MASTER_KEY are required when REDIS_URL, REDIS_CLUSTER_NODES or " +
        "UPSTASH_REDIS_REST_URL is set " +
        "(MASTER_KEY is base64 of 32 random bytes: `openssl rand -base64 32`).",
    );
    Deno.exit(2);
  }
  let box;
  try {
    box = await createSealedBox(masterKey);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(2);
  }
  const caPem = await readCaFile(config.APNS_CA_FILE);
  const services = createServices({
    redis: handle.redis,
    box,
    logger,
    metrics: createMetrics(),
    ...serviceSettings(config, caPem),
  });
  shutdown.unshift(() => services.relay.close());
  return { config, services, adminToken, logger, shutdown };
}

function onSignals(release: () => Promise<void>) {
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await release();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

async function release(runtime: Runtime) {
  for (const step of runtime.shutdown) await step().catch(() => {});
}

async function start(config: Config, runtime: Runtime) {
  const { logger, services } = runtime;
  const app = createApp({
    ...services,
    adminToken: runtime.adminToken,
    trustedProxyHops: config.TRUSTED_PROXY_HOPS,
  });
  let server;
  try {
    server = Deno.serve({
      port: config.PORT,
      hostname: "0.0.0.0",
      onListen: ({ port }) => logger.info("listening", { url: `http://localhost:${port}` }),
    }, app.fetch);
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    // Taken since ensurePortFree: leave no redis.url naming a server that is about to stop.
    await release(runtime);
    portInUse(config.PORT);
  }
  // At start, as every day at 08:00 UTC: the certificates close to expiry, by name.
  logExpiringCertificates(services.apps, logger).catch((error) =>
    logger.error("certificate expiry check failed", { message: (error as Error).message })
  );
  const workers = new AbortController();
  const running = startWorkers({ services, count: config.WORKERS, signal: workers.signal });
  onSignals(async () => {
    logger.info("shutting down");
    workers.abort();
    await server.shutdown();
    await running.catch(() => {});
    await release(runtime);
  });
}

async function worker(config: Config, runtime: Runtime) {
  const signal = new AbortController();
  onSignals(() => Promise.resolve(signal.abort()));
  await runWorkerCommand({
    services: runtime.services,
    count: Math.max(1, config.WORKERS),
    signal: signal.signal,
  });
  await release(runtime);
}

async function redisHttp(config: Config) {
  if (!config.REDIS_HTTP_TOKEN || config.REDIS_HTTP_TOKEN.length < 16) {
    console.error(
      "REDIS_HTTP_TOKEN (at least 16 characters) is required: clients send it as a bearer token.",
    );
    Deno.exit(2);
  }
  const target = await secondaryRedisTarget(config);
  if (target.kind === "rest") {
    console.error(
      "redis-http fronts a TCP Redis: set REDIS_URL or REDIS_CLUSTER_NODES (or run `deno task " +
        "start` first).",
    );
    Deno.exit(2);
  }
  await (await connectRedis(target)).close();
  const requester = target.kind === "cluster"
    ? createClusterRequester(target.nodes)
    : createTcpRequester(target.url);
  const gateway = createGateway({ requester, token: config.REDIS_HTTP_TOKEN });
  const server = Deno.serve({
    port: config.REDIS_HTTP_PORT,
    hostname: "0.0.0.0",
    onListen: ({ port }) => console.error(`redis-http listening on http://localhost:${port}`),
  }, gateway.fetch);
  onSignals(async () => {
    await server.shutdown();
    await requester.close();
  });
}

if (!COMMANDS.includes(command)) {
  console.error(`unknown command: ${command}. Use ${COMMANDS.join(", ")}.`);
  Deno.exit(2);
}

if (command === "push") {
  Deno.exit(
    await runPushCli(Deno.args.slice(1), {
      stdout: (line) => console.log(line),
      stderr: (line) => console.error(line),
    }, {
      hosts: {
        production: Deno.env.get("APNS_HOST_PRODUCTION") || undefined,
        development: Deno.env.get("APNS_HOST_DEVELOPMENT") || undefined,
      },
      caFile: Deno.env.get("APNS_CA_FILE") || undefined,
    }),
  );
}

const config = loadConfig();

if (command === "redis-http") {
  await redisHttp(config);
} else {
  const logger = createLogger({
    level: config.LOG_LEVEL,
    fields: { service: command === "start" ? "edgepush" : `edgepush-${command}` },
  });

  // Deno Deploy discovers cron jobs only when they are registered at module top level, before
  // any await; the handlers wait for the runtime that boot() builds below.
  let booted: (runtime: Runtime) => void = () => {};
  const runtimeReady = new Promise<Runtime>((resolve) => booted = resolve);
  if (command === "start" && typeof Deno.cron === "function") {
    Deno.cron(SEGMENT_SYNC_CRON_NAME, config.SEGMENT_SYNC_CRON, async () => {
      const { services } = await runtimeReady;
      // The apps index is written apart from the app records (they live in other cluster
      // slots): reconcile it first, so the sync sees every app.
      const repaired = await services.apps.repairIndex().catch((error) => {
        logger.error("apps index repair failed", { message: (error as Error).message });
        return null;
      });
      if (repaired?.added.length || repaired?.removed.length) {
        logger.warn("apps index repaired", repaired);
      }
      await segmentSyncCron({
        redis: services.redis,
        staleAfterDays: config.STALE_AFTER_DAYS,
        logger,
      })().catch((error) =>
        logger.error("segment sync failed", { message: (error as Error).message })
      );
    });
    Deno.cron(CERTIFICATE_EXPIRY_CRON_NAME, CERTIFICATE_EXPIRY_CRON, async () => {
      await logExpiringCertificates((await runtimeReady).services.apps, logger);
    });
    Deno.cron(TOKEN_PROBE_CRON_NAME, "0 4 * * *", async () => {
      await runTokenProbes((await runtimeReady).services, { logger }).catch((error) =>
        logger.error("token probe failed", { message: (error as Error).message })
      );
    });
    // With in-process workers the queue is already drained; this tick is for Deploy (WORKERS=0).
    Deno.cron("edgepush-send-drain", "* * * * *", async () => {
      if (config.WORKERS > 0) return;
      await drainFor((await runtimeReady).services, DRAIN_MS).catch((error) =>
        logger.error("send drain failed", { message: (error as Error).message })
      );
    });
  }

  if (command === "start") ensurePortFree(config.PORT);
  const runtime = await boot(config, logger);
  booted(runtime);
  if (command === "start") {
    await start(config, runtime);
  } else if (command === "worker") {
    await worker(config, runtime);
  } else if (command === "migrate") {
    const code = await runMigrateCli(Deno.args.slice(1), {
      redis: runtime.services.redis,
      listAppIds: () => runtime.services.apps.listIds(),
    });
    await release(runtime);
    Deno.exit(code);
  } else {
    const code = await runSyncCli(Deno.args.slice(1), {
      redis: runtime.services.redis,
      staleAfterDays: config.STALE_AFTER_DAYS,
    });
    await release(runtime);
    Deno.exit(code);
  }
}
