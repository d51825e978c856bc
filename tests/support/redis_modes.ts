/**
 * Runs the real app over a given redis-server in either network mode (docs/architecture.md,
 * "One client, three ways to reach Redis"): the TCP requester, or the stock `@upstash/redis` HTTP
 * client talking to our REST gateway (served on a free port), which forwards over its own TCP
 * requester.
 *
 * @module
 */
import { createGateway, createRedis, createTcpRequester } from "../../lib/redis/mod.ts";
import type { RedisServer } from "../../lib/redis/mod.ts";
import { type Harness, type HarnessOptions, startHarness } from "./harness.ts";

/** The network modes a test can run the app in. */
export type RedisModeName = "tcp" | "rest";

/** Both network modes, for `for (const mode of REDIS_MODES)` test tables. */
export const REDIS_MODES: readonly RedisModeName[] = ["tcp", "rest"];

/** Bearer token of the REST gateway that mode tests start. */
export const GATEWAY_TOKEN = "mode-test-gateway-token-0123456789";

/** A harness in one mode; `stop()` releases the clients and the gateway, not the server. */
export interface ModeHarness extends Harness {
  mode: RedisModeName;
  /** The gateway's base URL in REST mode; undefined in TCP mode. */
  gatewayUrl?: string;
}

/**
 * Starts {@linkcode startHarness} over `server` in `mode`. The caller owns `server` and stops it
 * after `harness.stop()`.
 */
export async function startModeHarness(
  mode: RedisModeName,
  server: RedisServer,
  options: Omit<HarnessOptions, "redis"> = {},
): Promise<ModeHarness> {
  const releases: Array<() => Promise<void>> = [];
  let gatewayUrl: string | undefined;
  let handle;
  if (mode === "tcp") {
    handle = createRedis({ kind: "tcp", url: server.url });
  } else {
    const requester = createTcpRequester(server.url);
    const gateway = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      createGateway({ requester, token: GATEWAY_TOKEN }).fetch,
    );
    releases.push(() => requester.close(), () => gateway.shutdown());
    gatewayUrl = `http://127.0.0.1:${gateway.addr.port}`;
    handle = createRedis({ kind: "rest", url: gatewayUrl, token: GATEWAY_TOKEN });
  }
  releases.unshift(() => handle.close());
  const harness = await startHarness({
    ...options,
    redis: {
      server,
      redis: handle.redis,
      handle,
      url: server.url,
      stop: () => Promise.resolve(),
    },
  });
  return {
    ...harness,
    mode,
    gatewayUrl,
    async stop() {
      await harness.stop();
      await harness.services.relay.close();
      for (const release of releases) await release();
    },
  };
}
