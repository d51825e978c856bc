/**
 * The handlers of the `Deno.cron` jobs `deno task start` registers. main.ts registers them at
 * module top level, before any await (Deno Deploy discovers cron jobs only there), so each
 * handler first waits for the runtime that main.ts boots afterwards. The sync, the probe and the
 * drain log their failures instead of throwing: a thrown cron handler would only be retried
 * blindly.
 *
 * @module
 */
import type { Config } from "../lib/config.ts";
import type { Logger } from "../lib/observability/logger.ts";
import type { Runtime } from "../lib/runtime/mod.ts";
import { logExpiringCertificates } from "./certificate_expiry.ts";
import { segmentSyncCron } from "./segment_sync.ts";
import { drainFor } from "./send_worker.ts";
import { runTokenProbes } from "./token_probe.ts";

/** The `Deno.cron` name of the per-minute send drain. */
export const SEND_DRAIN_CRON_NAME = "edgepush-send-drain";

/** The per-minute cron drains the send queue for at most this long (Deploy's cron budget). */
const DRAIN_MS = 50_000;

/** The handler of each cron job, given the runtime main.ts is booting. */
export function cronHandlers(
  runtimeReady: Promise<Runtime>,
  { config, logger }: { config: Config; logger: Logger },
) {
  return {
    /** The daily segment sync, after reconciling the apps index with the app records. */
    async segmentSync(): Promise<void> {
      const { services } = await runtimeReady;
      // The apps index is written apart from the app records (they live in other cluster
      // slots): reconcile it first, so the sync sees every app.
      const repaired = await services.apps.repairIndex().catch((error) => {
        logger.error("apps index repair failed", { message: (error as Error).message });
        return null;
      });
      if (repaired?.added.length || repaired?.removed.length) {
        logger.warn("apps index repaired", repaired);
      }
      await segmentSyncCron({
        redis: services.redis,
        staleAfterDays: config.STALE_AFTER_DAYS,
        logger,
      })().catch((error) =>
        logger.error("segment sync failed", { message: (error as Error).message })
      );
    },
    /** The daily log line naming certificates close to expiry. */
    async certificateExpiry(): Promise<void> {
      await logExpiringCertificates((await runtimeReady).services.apps, logger);
    },
    /** The daily uninstall probe of every opted-in app. */
    async tokenProbe(): Promise<void> {
      await runTokenProbes((await runtimeReady).services, { logger }).catch((error) =>
        logger.error("token probe failed", { message: (error as Error).message })
      );
    },
    /**
     * A bounded drain of the send queue. With in-process workers the queue is already drained;
     * this tick is for Deploy (`WORKERS=0`).
     */
    async sendDrain(): Promise<void> {
      if (config.WORKERS > 0) return;
      await drainFor((await runtimeReady).services, DRAIN_MS).catch((error) =>
        logger.error("send drain failed", { message: (error as Error).message })
      );
    },
  };
}
