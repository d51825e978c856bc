/**
 * `deno task redis-http`: the Upstash REST gateway (lib/redis/gateway.ts) served in front of a
 * TCP Redis or cluster, for deployments whose API processes speak only HTTP. It checks its
 * token and reaches its Redis once before listening, and stops on SIGINT/SIGTERM.
 *
 * @module
 */
import type { Config } from "../config.ts";
import { createClusterRequester, createGateway, createTcpRequester } from "../redis/mod.ts";
import { onSignals } from "./process.ts";
import { connectRedis, secondaryRedisTarget } from "./redis_target.ts";

/**
 * Serves the gateway on `REDIS_HTTP_PORT`. Exits (2) with one line when `REDIS_HTTP_TOKEN` is
 * missing or short, or when the only Redis configured is itself a REST one.
 */
export async function runRedisHttp(config: Config): Promise<void> {
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
