/**
 * Per app and client rate limit for the SDK routes. Runs after `sdkAuth` (it needs
 * `c.var.app`).
 *
 * The client is the connection's remote address unless edgepush runs behind proxies it trusts
 * (`trustedProxyHops`): `X-Forwarded-For` is written by whoever sends the request, so only the
 * entries the trusted proxies appended can be believed, and a client rotating the header must
 * not get a fresh window each time.
 *
 * @module
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { getConnInfo } from "hono/deno";
import { RateLimited } from "../../lib/errors.ts";
import type { SdkRateLimiter } from "../../lib/ratelimit/mod.ts";
import type { AppEnv } from "../context.ts";

/**
 * The client address of a request. With `trustedProxyHops` = N > 0, the N-th `X-Forwarded-For`
 * entry from the right (the address the outermost trusted proxy saw); with 0 the remote
 * address. "unknown" when neither is known (`app.request()` in tests has no connection).
 */
export function clientAddress(c: Context, trustedProxyHops = 0): string {
  if (trustedProxyHops > 0) {
    const hops = (c.req.header("x-forwarded-for") ?? "").split(",").map((s) => s.trim())
      .filter(Boolean);
    const client = hops[Math.max(0, hops.length - trustedProxyHops)];
    if (client) return client.slice(0, 64);
  }
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Refuses with 429 `rate_limited` + `Retry-After` over the limit; a no-op when `limiter` is null. */
export function rateLimit(limiter: SdkRateLimiter | null, trustedProxyHops = 0) {
  return createMiddleware<AppEnv>(async function rateLimit(c, next) {
    if (limiter) {
      const verdict = await limiter.check(c.var.app.appId, clientAddress(c, trustedProxyHops));
      if (!verdict.allowed) throw new RateLimited(verdict.retryAfterSeconds);
    }
    await next();
  });
}
