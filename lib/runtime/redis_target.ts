/**
 * How a command reaches Redis: the one configured (REST, TCP or cluster), or for a secondary
 * command (worker, sync, redis-http) in embedded mode, the server a running `deno task start`
 * recorded. The first PING happens here, so a refused credential or a Redis that is gone stops
 * the process with one line naming what to fix, not a stack trace at the first request.
 *
 * @module
 */
import { type Config, redisMode } from "../config.ts";
import { embeddedUrlFile } from "../embedded/server.ts";
import { createRedis, type RedisHandle, type RedisTarget } from "../redis/mod.ts";
import { preflightRedis } from "../redis/preflight.ts";

/** A Redis target, with the file it was read from when an embedded `start` recorded it. */
export type RecordedRedisTarget = RedisTarget & { recordedIn?: string };

/**
 * How a secondary command (worker, sync, redis-http) reaches Redis: the configured one, or the
 * embedded server a running `deno task start` recorded. Exits (2) when there is neither.
 */
export async function secondaryRedisTarget(config: Config): Promise<RecordedRedisTarget> {
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
  const file = embeddedUrlFile(config.DATA_DIR);
  try {
    const url = (await Deno.readTextFile(file)).trim();
    return { kind: "tcp", url, recordedIn: file };
  } catch {
    console.error(
      `no Redis configured and no embedded edgepush running (${file} is ` +
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
export async function connectRedis(target: RecordedRedisTarget): Promise<RedisHandle> {
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
