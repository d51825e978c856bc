/**
 * Builds what every command but `push` and `redis-http` runs on: the Redis handle (embedded,
 * configured, or the one a running embedded `start` recorded), the secrets, the sealed box, the
 * APNs CA and the services, together with what must be released on shutdown, in order.
 *
 * @module
 */
import { type Config, redisMode, serviceSettings } from "../config.ts";
import { createSealedBox } from "../crypto/sealed_box.ts";
import { startEmbedded } from "../embedded/server.ts";
import { loadEmbeddedSecrets } from "../embedded/secrets.ts";
import type { Logger } from "../observability/logger.ts";
import { createMetrics } from "../observability/metrics.ts";
import type { RedisHandle } from "../redis/mod.ts";
import { appsAwaitingMigration } from "../registry/mod.ts";
import { createServices, type Services } from "../services.ts";
import { connectRedis, secondaryRedisTarget } from "./redis_target.ts";

/** A running set of services plus what must be released on shutdown. */
export interface Runtime {
  config: Config;
  services: Services;
  adminToken: string;
  logger: Logger;
  /** Run in order by {@linkcode release}: the relay, then Redis, then the embedded server. */
  shutdown: Array<() => Promise<void>>;
}

/**
 * Boots the runtime of `command`. Only `start` launches the embedded redis-server; any other
 * command in embedded mode joins the one a running `start` recorded, with the same persisted
 * secrets. Exits (2) with one line when the secrets are missing or the master key or the APNs
 * CA file is unusable.
 */
export async function boot(config: Config, logger: Logger, command: string): Promise<Runtime> {
  const shutdown: Array<() => Promise<void>> = [];
  const mode = redisMode(config);
  let handle: RedisHandle;
  let adminToken = config.ADMIN_TOKEN;
  let masterKey = config.MASTER_KEY;
  if (mode === "embedded" && command === "start") {
    const embedded = await startEmbedded({
      dataDir: config.DATA_DIR,
      logger,
      given: { adminToken, masterKey },
    });
    handle = embedded.handle;
    adminToken = embedded.adminToken;
    masterKey = embedded.masterKey;
    shutdown.push(embedded.stop);
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
  const runtime = { config, services, adminToken, logger, shutdown };
  if (command !== "migrate") await refuseUnmigratedData(runtime);
  return runtime;
}

/**
 * Exits (2) with one line when an app's data is in a layout older than this version reads: it
 * must be migrated first (docs/operations.md#upgrading-the-stored-layout).
 */
async function refuseUnmigratedData(runtime: Runtime): Promise<void> {
  const { redis, apps } = runtime.services;
  const waiting = await appsAwaitingMigration(redis, await apps.listIds());
  if (waiting.length === 0) return;
  await release(runtime);
  console.error(
    `the data of ${waiting.length} app(s) (${waiting.slice(0, 3).join(", ")}${
      waiting.length > 3 ? ", …" : ""
    }) was written by an older edgepush and is not migrated: stop the older version, run ` +
      "`deno task migrate` with the same Redis settings, then start this one " +
      "(docs/operations.md, Upgrading the stored layout).",
  );
  Deno.exit(2);
}

/** Runs the runtime's shutdown steps in order; a failing step does not stop the others. */
export async function release(runtime: Runtime): Promise<void> {
  for (const step of runtime.shutdown) await step().catch(() => {});
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
