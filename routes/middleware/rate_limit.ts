/**
 * Per app and client rate limit for the SDK routes. Runs after `sdkAuth` (it needs
 * `c.var.app`). The client is the first `X-Forwarded-For` entry, else the connection's remote
 * address, else "unknown".
 *
 * @module
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { getConnInfo } from "hono/deno";
import { RateLimited } from "../../lib/errors.ts";
import type { SdkRateLimiter } from "../../lib/ratelimit/mod.ts";
import type { AppEnv } from "../context.ts";

/** The client address of a request. */
export function clientAddress(c: Context): string {
  const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
  if (forwarded) return forwarded.slice(0, 64);
  try {
    // app.request() in tests has no connection info; getConnInfo then throws.
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Refuses with 429 `rate_limited` + `Retry-After` over the limit; a no-op when `limiter` is null. */
export function rateLimit(limiter: SdkRateLimiter | null) {
  return createMiddleware<AppEnv>(async function rateLimit(c, next) {
    if (limiter) {
      const verdict = await limiter.check(c.var.app.appId, clientAddress(c));
      if (!verdict.allowed) throw new RateLimited(verdict.retryAfterSeconds);
    }
    await next();
  });
}
