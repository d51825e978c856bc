/**
 * A private redis-server per test file: a free port, its own temp data dir, never the shared
 * Redis on 6379.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { createRedis, type RedisHandle, startRedisServer } from "../../lib/redis/mod.ts";
import type { RedisServer } from "../../lib/redis/mod.ts";

/** A running test Redis and a TCP-mode client for it. */
export interface TestRedis {
  server: RedisServer;
  redis: Redis;
  handle: RedisHandle;
  url: string;
  /** Stops the client, the server, and removes the data dir. */
  stop(): Promise<void>;
}

/** Starts a private redis-server for a test and returns a client for it. */
export async function startTestRedis(): Promise<TestRedis> {
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-redis-" });
  const server = await startRedisServer({ dataDir, appendOnly: false });
  const handle = createRedis({ kind: "tcp", url: server.url });
  return {
    server,
    redis: handle.redis,
    handle,
    url: server.url,
    async stop() {
      await handle.close();
      await server.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 5_000, intervalMs = 10, what = "condition" } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
