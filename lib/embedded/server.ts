/**
 * Embedded mode's start-up: with no Redis configured, `deno task start` launches a private
 * redis-server under the data dir, generates (once) the admin token and master key, and records
 * the server's URL in `DATA_DIR/redis.url` so that `worker`, `sync` and `redis-http` started
 * beside it reach the same data without configuration.
 *
 * @module
 */
import type { Logger } from "../observability/logger.ts";
import {
  createRedis,
  DataDirInUse,
  type RedisHandle,
  RedisServerMissing,
  startRedisServer,
} from "../redis/mod.ts";
import { loadEmbeddedSecrets } from "./secrets.ts";

/** Where a running embedded `start` records its redis-server's URL. */
export function embeddedUrlFile(dataDir: string): string {
  return `${dataDir}/redis.url`;
}

/** A started embedded Redis and the secrets the process runs with. */
export interface EmbeddedStart {
  handle: RedisHandle;
  adminToken: string;
  masterKey: string;
  /** Removes `redis.url` and stops the redis-server (the handle is closed by its owner). */
  stop(): Promise<void>;
}

/**
 * Starts the embedded redis-server for `deno task start`. Secrets given in the environment win
 * over the stored ones; a generated admin token is printed once, at creation. A missing
 * redis-server binary or a data dir another edgepush holds stops the process with one line.
 */
export async function startEmbedded(
  options: {
    dataDir: string;
    logger: Logger;
    given: { adminToken?: string; masterKey?: string };
  },
): Promise<EmbeddedStart> {
  const { dataDir, logger } = options;
  const secrets = await loadEmbeddedSecrets(dataDir, options.given);
  if (secrets.generated.includes("ADMIN_TOKEN")) {
    // Printed once, at creation, so the operator can copy it; never logged again.
    console.log(
      `\nedgepush generated an admin token (saved in ${dataDir}/secrets.json):\n\n` +
        `  ADMIN_TOKEN=${secrets.adminToken}\n`,
    );
  }
  let server;
  try {
    server = await startRedisServer({ dataDir: `${dataDir}/redis` });
  } catch (error) {
    if (error instanceof RedisServerMissing || error instanceof DataDirInUse) {
      console.error(error.message);
      Deno.exit(1);
    }
    throw error;
  }
  logger.info("embedded redis-server started", { port: server.port, dataDir });
  const handle = createRedis({ kind: "tcp", url: server.url });
  await Deno.writeTextFile(embeddedUrlFile(dataDir), server.url);
  return {
    handle,
    adminToken: secrets.adminToken,
    masterKey: secrets.masterKey,
    async stop() {
      await Deno.remove(embeddedUrlFile(dataDir)).catch(() => {});
      await server.stop();
    },
  };
}
