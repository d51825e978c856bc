/**
 * `/v1/apps/:appId/jobs`: run the segment sync now, and the uninstall probe's settings
 * (server key).
 *
 * `GET /token-probe` answers the settings and `lastReport` (the daily probe's last findings, or
 * `null`).
 *
 * `POST /segment-sync[?mode=auto|full|incremental]` answers 202 `started` once it holds the app's
 * sync lock and runs the pass in the background; while another run holds the lock it answers 202
 * `queued` and that run passes once more when it ends, so the request still covers every change
 * made before it.
 *
 * @module
 */
import { Hono } from "hono";
import type { Redis } from "@upstash/redis";
import type { Apps } from "../lib/apps/mod.ts";
import { AppParam } from "../lib/apps/mod.ts";
import type { Logger } from "../lib/observability/logger.ts";
import {
  acquireSyncLock,
  requestSyncRerun,
  runSegmentSync,
  type Segments,
  SyncQuery,
} from "../lib/segments/mod.ts";
import {
  ProbeSettingsBody,
  readProbeReport,
  readProbeSettings,
  writeProbeSettings,
} from "../lib/probe/mod.ts";
import type { Registry } from "../lib/registry/mod.ts";
import type { AppEnv } from "./context.ts";
import { serverAuth } from "./middleware/auth.ts";
import { NoBody, NoQuery, validate } from "./middleware/validate.ts";

/** What {@linkcode jobRoutes} needs. */
export interface JobRouteDeps {
  apps: Apps;
  segments: Segments;
  registry: Registry;
  redis: Redis;
  logger: Logger;
  options: { staleAfterDays: number; now?: () => number };
}

/** Job routes; mounted at `/v1/apps/:appId/jobs`. */
export function jobRoutes(deps: JobRouteDeps) {
  return new Hono<AppEnv>()
    .use(serverAuth(deps.apps))
    .post(
      "/segment-sync",
      validate("param", AppParam),
      validate("query", SyncQuery),
      validate("json", NoBody),
      async (c) => {
        const { appId } = c.req.valid("param");
        const mode = c.req.valid("query").mode ?? "auto";
        let lock = await acquireSyncLock(deps.redis, appId);
        if (!lock) {
          // A run holds the lock: ask it to pass once more when it ends, then look again in case
          // it released the lock before it could see the request.
          await requestSyncRerun(deps.redis, appId);
          lock = await acquireSyncLock(deps.redis, appId);
          if (!lock) return c.json({ appId, status: "queued" as const, mode }, 202);
        }
        const logger = c.var.logger ?? deps.logger;
        runSegmentSync({
          redis: deps.redis,
          appIds: [appId],
          now: deps.options.now,
          staleAfterDays: deps.options.staleAfterDays,
          mode,
          segments: deps.segments,
          registry: deps.registry,
          heldLocks: new Map([[appId, lock]]),
        }).then(
          (report) =>
            logger.info("segment sync finished", { appId, durationMs: report.durationMs }),
          (error) => logger.error("segment sync failed", { appId, message: String(error) }),
        );
        return c.json({ appId, status: "started" as const, mode }, 202);
      },
    )
    .get("/token-probe", validate("param", AppParam), validate("query", NoQuery), async (c) => {
      const { appId } = c.req.valid("param");
      const [settings, lastReport] = await Promise.all([
        readProbeSettings(deps.redis, appId),
        readProbeReport(deps.redis, appId),
      ]);
      return c.json({ ...settings, lastReport });
    })
    .put(
      "/token-probe",
      validate("param", AppParam),
      validate("json", ProbeSettingsBody),
      async (c) => {
        const { appId } = c.req.valid("param");
        return c.json(await writeProbeSettings(deps.redis, appId, c.req.valid("json")));
      },
    );
}
