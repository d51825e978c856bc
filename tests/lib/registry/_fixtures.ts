/**
 * Fixtures for registry tests: a private Redis, a registry with a manual clock, token makers.
 *
 * @module
 */
import { createRegistry, type Registry } from "../../../lib/registry/mod.ts";
import { startTestRedis, type TestRedis } from "../../support/redis_server.ts";

/** A manual clock in epoch ms. */
export interface Clock {
  now(): number;
  advance(ms: number): void;
}

/** A clock starting at 2025-01-01. */
export function manualClock(start = Date.UTC(2025, 0, 1)): Clock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** A deterministic 64-hex token from a number. */
export function tokenOf(n: number, width = 64): string {
  return n.toString(16).padStart(width, "0");
}

/** Runs `fn` with a fresh Redis, registry and clock; always stops the Redis. */
export async function withRegistry(
  fn: (ctx: { t: TestRedis; registry: Registry; clock: Clock; appId: string }) => Promise<void>,
): Promise<void> {
  const t = await startTestRedis();
  const clock = manualClock();
  try {
    await fn({
      t,
      registry: createRegistry({ redis: t.redis, now: clock.now }),
      clock,
      appId: "app_000000000000000000000001",
    });
  } finally {
    await t.stop();
  }
}
