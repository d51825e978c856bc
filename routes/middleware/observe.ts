/**
 * Request id, structured access log and HTTP metrics, in one pass around each request.
 *
 * @module
 */
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import type { Context } from "hono";
import type { Logger } from "../../lib/observability/logger.ts";
import type { Metrics } from "../../lib/observability/metrics.ts";
import type { AppEnv } from "../context.ts";

/** Sets `requestId` and `logger`, echoes `X-Request-Id`, logs and measures each request. */
export function observe(options: { logger: Logger; metrics: Metrics }) {
  const { logger, metrics } = options;
  return createMiddleware<AppEnv>(async function observe(c, next) {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && /^[\w.-]{1,64}$/.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("logger", logger.with({ requestId }));
    const start = performance.now();
    await next();
    c.header("X-Request-Id", requestId);
    const seconds = (performance.now() - start) / 1000;
    const labels = {
      route: routeLabel(c),
      method: c.req.method,
      status: String(c.res.status),
    };
    metrics.inc("http_requests_total", labels);
    metrics.observe("http_request_duration_seconds", labels, seconds);
    if (c.res.status >= 500 || c.req.path.startsWith("/v1/apps") && c.req.method !== "GET") {
      c.var.logger.info("request", { ...labels, path: c.req.path, ms: seconds * 1000 });
    }
  });
}

/**
 * The route pattern that answered, for metric labels. App-wide middleware is registered for
 * every method ("ALL") on `/*`; a request that matched nothing else (a 404 for an unknown path
 * or method) is labelled "unmatched" rather than "/*".
 */
function routeLabel(c: Context<AppEnv>): string {
  return matchedRoutes(c).filter((r) => r.method !== "ALL").at(-1)?.path ?? "unmatched";
}
