/**
 * edgepush's composition root: reads the environment once, builds the Redis and APNs clients,
 * registers cron jobs, and serves HTTP. Subcommands: `start` (default), `worker`, `sync`,
 * `redis-http`, `push`.
 *
 * @module
 */
import { parseConfig, redisMode, sdkRateLimit } from "./lib/config.ts";
import type { Config } from "./lib/config.ts";
import { createSealedBox } from "./lib/crypto/sealed_box.ts";
import { loadEmbeddedSecrets } from "./lib/embedded/secrets.ts";
import { createLogger, type Logger } from "./lib/observability/logger.ts";
import { createMetrics } from "./lib/observability/metrics.ts";
import {
  createRedis,
  type RedisHandle,
  RedisServerMissing,
  startRedisServer,
} from "./lib/redis/mod.ts";
import { createServices, type Services } from "./lib/services.ts";
import { createApp } from "./routes/mod.ts";

const command = Deno.args[0] ?? "start";

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

async function boot(config: Config, logger: Logger): Promise<Runtime> {
  const shutdown: Array<() => Promise<void>> = [];
  const mode = redisMode(config);
  let handle: RedisHandle;
  let adminToken = config.ADMIN_TOKEN;
  let masterKey = config.MASTER_KEY;
  if (mode === "embedded") {
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
      if (error instanceof RedisServerMissing) {
        console.error(error.message);
        Deno.exit(1);
      }
      throw error;
    }
    logger.info("embedded redis-server started", { port: server.port, dataDir: config.DATA_DIR });
    handle = createRedis({ kind: "tcp", url: server.url });
    shutdown.push(() => server.stop());
  } else if (mode === "tcp") {
    handle = createRedis({ kind: "tcp", url: config.REDIS_URL! });
  } else {
    handle = createRedis({
      kind: "rest",
      url: config.UPSTASH_REDIS_REST_URL!,
      token: config.UPSTASH_REDIS_REST_TOKEN!,
    });
  }
  shutdown.unshift(() => handle.close());
  if (!adminToken || !masterKey) {
    console.error(
      "ADMIN_TOKEN and MASTER_KEY are required when REDIS_URL or UPSTASH_REDIS_REST_URL is set " +
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
  const caPem = config.APNS_CA_FILE ? await Deno.readTextFile(config.APNS_CA_FILE) : undefined;
  const services = createServices({
    redis: handle.redis,
    box,
    logger,
    metrics: createMetrics(),
    apns: {
      productionHost: config.APNS_HOST_PRODUCTION,
      developmentHost: config.APNS_HOST_DEVELOPMENT,
      caPem,
      connections: config.APNS_CONNECTIONS,
    },
    sdkRateLimit: config.SDK_RATE_LIMIT_ENABLED === "true" ? sdkRateLimit(config) : null,
    appCacheTtlMs: config.APP_CACHE_TTL_MS,
    staleAfterDays: config.STALE_AFTER_DAYS,
  });
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

async function start(config: Config) {
  const logger = createLogger({ level: config.LOG_LEVEL, fields: { service: "edgepush" } });
  const runtime = await boot(config, logger);
  const app = createApp({ ...runtime.services, adminToken: runtime.adminToken });
  const server = Deno.serve({
    port: config.PORT,
    hostname: "0.0.0.0",
    onListen: ({ port }) => logger.info("listening", { url: `http://localhost:${port}` }),
  }, app.fetch);
  onSignals(async () => {
    logger.info("shutting down");
    await server.shutdown();
    for (const release of runtime.shutdown) await release().catch(() => {});
  });
}

if (command === "start") {
  await start(loadConfig());
} else {
  console.error(`unknown command: ${command}. Use start, worker, sync, redis-http or push.`);
  Deno.exit(2);
}
