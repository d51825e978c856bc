import { assertEquals } from "../../support/assert.ts";
import { waitFor } from "../../support/redis_server.ts";
import { createRedis, freePort, startRedisServer } from "../../../lib/redis/mod.ts";
import { createQueue, createWorker, type WorkerDeps } from "../../../lib/sends/mod.ts";
import { createLogger } from "../../../lib/observability/logger.ts";

Deno.test("a send worker started before Redis is reachable retries, logs, and works once it is", async () => {
  const port = freePort();
  const handle = createRedis({ kind: "tcp", url: `redis://127.0.0.1:${port}` });
  const warnings: string[] = [];
  const logger = createLogger({
    write: (line, level) => level === "warn" && warnings.push(JSON.parse(line).msg),
  });
  const queue = createQueue({ redis: handle.redis });
  const worker = createWorker(
    { queue, logger } as unknown as WorkerDeps,
    { maxIdleMs: 20, sweepEveryMs: 3_600_000, scheduleEveryMs: 3_600_000 },
  );
  const controller = new AbortController();
  const running = worker.run(controller.signal);
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-redis-" });
  let server;
  try {
    await waitFor(() => warnings.length >= 2, { timeoutMs: 10_000, what: "retries" });
    assertEquals(warnings[0], "send worker cannot reach the queue yet; retrying");
    server = await startRedisServer({ dataDir, port, appendOnly: false });
    // Once Redis answers, the worker creates its groups and polls every partition.
    await waitFor(async () => {
      const groups = await handle.redis.xinfo("ep:v1:{q:0}:sendq", { type: "GROUPS" })
        .catch(() => []);
      return (groups as unknown[]).length === 1;
    }, { timeoutMs: 10_000, what: "the queue's groups" });
  } finally {
    controller.abort();
    await running;
    await handle.close();
    await server?.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
