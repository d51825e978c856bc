/**
 * Request id, structured access log and HTTP metrics, in one pass around each request.
 *
 * @module
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import type { Logger } from "../../lib/observability/logger.ts";
import type { Metrics } from "../../lib/observability/metrics.ts";
import type { AppEnv } from "../context.ts";

const REQUEST_ID = /^[\w.-]{1,64}$/;
/** Distinct label sets kept for reuse; past this the cache starts over (methods are free text). */
const MAX_LABEL_SETS = 1_000;

/** Sets `requestId` and `logger`, echoes `X-Request-Id`, logs and measures each request. */
export function observe(options: { logger: Logger; metrics: Metrics }) {
  const { logger, metrics } = options;
  // One frozen label object per route × method × status, so the metrics registry sees the same
  // object again and skips rebuilding its series key.
  const labelSets = new Map<string, Readonly<Record<"route" | "method" | "status", string>>>();
  const labelsFor = (route: string, method: string, status: number) => {
    const key = `${route} ${method} ${status}`;
    let labels = labelSets.get(key);
    if (!labels) {
      if (labelSets.size >= MAX_LABEL_SETS) labelSets.clear();
      labels = Object.freeze({ route, method, status: String(status) });
      labelSets.set(key, labels);
    }
    return labels;
  };
  return createMiddleware<AppEnv>(async function observe(c, next) {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("logger", logger.with({ requestId }));
    const start = performance.now();
    await next();
    setResponseHeader(c, "X-Request-Id", requestId);
    const seconds = (performance.now() - start) / 1000;
    const labels = labelsFor(routeLabel(c), c.req.method, c.res.status);
    metrics.inc("http_requests_total", labels);
    metrics.observe("http_request_duration_seconds", labels, seconds);
    if (c.res.status >= 500 || c.req.path.startsWith("/v1/apps") && c.req.method !== "GET") {
      c.get("logger").info("request", { ...labels, path: c.req.path, ms: seconds * 1000 });
    }
  });
}

/**
 * The route pattern that answered, for metric labels. App-wide middleware is registered for
 * every method ("ALL") on `/*`; a request that matched nothing else (a 404 for an unknown path
 * or method) is labelled "unmatched" rather than "/*".
 */
function routeLabel(c: Context<AppEnv>): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    if (routes[i].method !== "ALL") return routes[i].path;
  }
  return "unmatched";
}

/**
 * Sets a header on the finished response in place. `c.header` after the handler copies the
 * whole Response (its body becomes a stream, which Deno then serves on the slow streaming
 * path); that copy is only needed when the headers are immutable (a `fetch` response).
 */
function setResponseHeader(c: Context<AppEnv>, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.header(name, value);
  }
}
