/**
 * Operations endpoints: where to go from `/`, liveness, Redis readiness and Prometheus metrics.
 *
 * @module
 */
import { Hono } from "hono";
import type { Redis } from "@upstash/redis";
import { Unavailable } from "../lib/errors.ts";
import type { Metrics } from "../lib/observability/metrics.ts";
import type { AppEnv } from "./context.ts";

/** What `GET /` answers: the entry points a person or a client looks for first. */
const INDEX = {
  service: "edgepush",
  console: "/console",
  docs: "/docs",
  openapi: "/openapi.json",
  health: "/healthz",
  ready: "/readyz",
  metrics: "/metrics",
} as const;

/** `/` (an index of entry points), `/healthz`, `/readyz`, `/metrics`; mounted at `/`. */
export function opsRoutes(deps: { redis: Redis; metrics: Metrics }) {
  return new Hono<AppEnv>()
    .get("/", (c) => c.json(INDEX))
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/readyz", async (c) => {
      const pong = await Promise.race([
        deps.redis.ping(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Unavailable("redis did not answer in 2s")), 2_000)
        ),
      ]);
      if (pong !== "PONG") throw new Unavailable("redis answered unexpectedly");
      return c.json({ status: "ready" });
    })
    .get("/metrics", async (c) => {
      return c.body(await deps.metrics.render(), 200, {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
      });
    });
}
