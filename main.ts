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
 * The clients are built by lib/runtime (boot, the embedded server, the gateway command) and the
 * other commands and the cron handlers live in jobs/; this file reads the environment, picks the
 * command and serves the API (the one place that may import routes/ and jobs/ together).
 *
 * @module
 */
import { type Config, parseConfig } from "./lib/config.ts";
import { createLogger } from "./lib/observability/logger.ts";
import {
  boot,
  ensurePortFree,
  onSignals,
  portInUse,
  release,
  runRedisHttp,
  type Runtime,
} from "./lib/runtime/mod.ts";
import { createApp } from "./routes/mod.ts";
import { SEGMENT_SYNC_CRON_NAME } from "./jobs/segment_sync.ts";
import { startWorkers } from "./jobs/send_worker.ts";
import { TOKEN_PROBE_CRON_NAME } from "./jobs/token_probe.ts";
import {
  CERTIFICATE_EXPIRY_CRON,
  CERTIFICATE_EXPIRY_CRON_NAME,
  logExpiringCertificates,
} from "./jobs/certificate_expiry.ts";
import { cronHandlers, SEND_DRAIN_CRON_NAME } from "./jobs/cron_handlers.ts";
import { migrateCommand, syncCommand, workerCommand } from "./jobs/commands.ts";
import { runPushCli } from "./lib/dispatch/push_cli.ts";

const command = Deno.args[0] ?? "start";
const COMMANDS = ["start", "worker", "sync", "migrate", "redis-http", "push"];

function loadConfig(): Config {
  try {
    return parseConfig(Deno.env.toObject());
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(2);
  }
}

/** `start`: the API, the in-process send workers and the certificate expiry line at start. */
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
  await runRedisHttp(config);
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
    const crons = cronHandlers(runtimeReady, { config, logger });
    Deno.cron(SEGMENT_SYNC_CRON_NAME, config.SEGMENT_SYNC_CRON, crons.segmentSync);
    Deno.cron(CERTIFICATE_EXPIRY_CRON_NAME, CERTIFICATE_EXPIRY_CRON, crons.certificateExpiry);
    Deno.cron(TOKEN_PROBE_CRON_NAME, "0 4 * * *", crons.tokenProbe);
    Deno.cron(SEND_DRAIN_CRON_NAME, "* * * * *", crons.sendDrain);
  }

  if (command === "start") ensurePortFree(config.PORT);
  const runtime = await boot(config, logger, command);
  booted(runtime);
  if (command === "start") {
    await start(config, runtime);
  } else if (command === "worker") {
    await workerCommand(runtime);
  } else if (command === "migrate") {
    Deno.exit(await migrateCommand(Deno.args.slice(1), runtime));
  } else {
    Deno.exit(await syncCommand(Deno.args.slice(1), runtime));
  }
}
