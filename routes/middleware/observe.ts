/**
 * Request id, structured access log and HTTP metrics, in one pass around each request.
 *
 * @module
 */
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
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
      route: routePath(c, -1) || "unmatched",
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
