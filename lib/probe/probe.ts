/**
 * The uninstall probe (opt-in per app): a silent background push (priority 5,
 * `content-available`) to installations not seen for `afterDays`, so APNs answers 410
 * `Unregistered` for apps that were uninstalled and the registry invalidates them. The push
 * goes through the one dispatch path, so APNs' answers feed the registry like any send's.
 *
 * An installation is probed at most once per `afterDays`. {@linkcode runTokenProbes} runs every
 * opted-in app (jobs/token_probe.ts calls it from the daily `Deno.cron`).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import type { Recipient } from "../apns/mod.ts";
import type { Apps } from "../apps/mod.ts";
import { type Clock, systemClock } from "../clock.ts";
import { type Dispatcher, type DispatchOutcome, probeMessage } from "../dispatch/mod.ts";
import type { Logger } from "../observability/logger.ts";
import type { Installation, Registry } from "../registry/mod.ts";
import { probeKeys } from "./_keys.ts";
import {
  ProbeReport,
  type ProbeSettings,
  ProbeSettingsBody,
  type TokenProbeReport,
} from "./schemas.ts";

const DAY_MS = 86_400_000;

/** Settings when the app never set any: off. */
export const DEFAULT_PROBE_SETTINGS: ProbeSettings = {
  enabled: false,
  afterDays: 30,
  ratePerSecond: 50,
};

/** Reads an app's probe settings (defaults when unset). */
export async function readProbeSettings(redis: Redis, appId: string): Promise<ProbeSettings> {
  const h = await redis.hgetall<Record<string, string>>(probeKeys.settings(appId));
  if (!h || !h.enabled) return { ...DEFAULT_PROBE_SETTINGS };
  return ProbeSettingsBody.parse({
    enabled: h.enabled === "1",
    afterDays: Number(h.afterDays),
    ratePerSecond: Number(h.ratePerSecond),
  });
}

/** Stores an app's probe settings. */
export async function writeProbeSettings(
  redis: Redis,
  appId: string,
  settings: ProbeSettings,
): Promise<ProbeSettings> {
  await redis.hset(probeKeys.settings(appId), {
    enabled: settings.enabled ? "1" : "0",
    afterDays: String(settings.afterDays),
    ratePerSecond: String(settings.ratePerSecond),
  });
  return settings;
}

/** Reads the report of an app's last probe run, or `null` (none yet, or unreadable). */
export async function readProbeReport(
  redis: Redis,
  appId: string,
): Promise<TokenProbeReport | null> {
  const raw = await redis.get<string>(probeKeys.report(appId));
  if (typeof raw !== "string") return null;
  try {
    const parsed = ProbeReport.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Options for {@linkcode runTokenProbe}. */
export interface TokenProbeOptions {
  redis: Redis;
  /** Where long-unseen installations are found. */
  registry: Pick<Registry, "scanSeen" | "getMany">;
  /** The one push path. */
  dispatcher: Pick<Dispatcher, "dispatch">;
  appId: string;
  /** The app's bundle id (the probe's topic). */
  bundleId: string;
  /** Settings to use instead of the stored ones. */
  settings?: ProbeSettings;
  /** Most installations probed in one run. Default: 100,000. */
  limit?: number;
  /** Time and the rate limiter's waits. Default: {@linkcode systemClock}. */
  clock?: Clock;
}

/** True for an installation the probe may push to: active, with a token. */
function probeable(inst: Installation | null): inst is Installation & { token: string } {
  return !!inst && inst.status === "active" && !!inst.token;
}

class LimitReached extends Error {}

/**
 * Probes an app's long-unseen installations at most `ratePerSecond` per second. Does nothing
 * (and says so) when the app has not opted in.
 */
export async function runTokenProbe(options: TokenProbeOptions): Promise<TokenProbeReport> {
  const { redis, appId } = options;
  const clock = options.clock ?? systemClock;
  const settings = options.settings ?? await readProbeSettings(redis, appId);
  const started = clock.now();
  const report: TokenProbeReport = {
    appId,
    enabled: settings.enabled,
    probed: 0,
    accepted: 0,
    unregistered: 0,
    failed: 0,
    durationMs: 0,
  };
  if (!settings.enabled) return report;
  const limit = options.limit ?? 100_000;
  const cutoff = started - settings.afterDays * DAY_MS;
  const message = probeMessage(options.bundleId);
  let pending: Recipient[] = [];
  let windowStart = clock.now();

  const flush = async () => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    const elapsed = clock.now() - windowStart;
    if (report.probed > 0 && elapsed < 1000) await clock.sleep(1000 - elapsed);
    windowStart = clock.now();
    const sent = await options.dispatcher.dispatch({ appId, message, recipients: batch });
    const p = redis.pipeline();
    for (const r of batch) {
      p.zadd(probeKeys.probed(appId), { score: clock.now(), member: r.installationId });
    }
    await p.exec();
    report.probed += batch.length;
    count(report, sent.outcomes);
  };

  try {
    await options.registry.scanSeen(appId, { after: -Infinity, until: cutoff }, async (ids) => {
      const [installations, probedAt] = await Promise.all([
        options.registry.getMany(appId, ids),
        probedTimes(redis, appId, ids),
      ]);
      for (let i = 0; i < ids.length; i++) {
        const inst = installations[i];
        if (!probeable(inst)) continue;
        if (probedAt[i] !== null && probedAt[i]! > cutoff) continue;
        if (report.probed + pending.length >= limit) throw new LimitReached();
        pending.push({
          installationId: ids[i],
          token: inst.token,
          environment: inst.environment,
          registeredAt: inst.registeredAt ? Date.parse(inst.registeredAt) : 0,
        });
        if (pending.length >= settings.ratePerSecond) await flush();
      }
    });
  } catch (error) {
    if (!(error instanceof LimitReached)) throw error;
  }
  await flush();
  report.durationMs = Math.round(clock.now() - started);
  return report;
}

async function probedTimes(redis: Redis, appId: string, ids: string[]): Promise<(number | null)[]> {
  const p = redis.pipeline();
  for (const id of ids) p.zscore(probeKeys.probed(appId), id);
  const scores = await p.exec<(number | string | null)[]>();
  return scores.map((s) => (s === null ? null : Number(s)));
}

function count(report: TokenProbeReport, outcomes: readonly DispatchOutcome[]): void {
  for (const o of outcomes) {
    if (o.outcome === "accepted") report.accepted++;
    else if (o.reason === "Unregistered") report.unregistered++;
    else report.failed++;
  }
}

/** The services {@linkcode runTokenProbes} needs (a subset of lib/services' `Services`). */
export interface ProbeServices {
  redis: Redis;
  apps: Pick<Apps, "get" | "listIds">;
  registry: Pick<Registry, "scanSeen" | "getMany">;
  dispatcher: Pick<Dispatcher, "dispatch">;
}

/**
 * Probes every opted-in app in turn (apps that did not opt in cost one HGETALL), stores each
 * app's report for `GET …/jobs/token-probe` and returns them. A failing app is logged and does
 * not stop the others.
 */
export async function runTokenProbes(
  services: ProbeServices,
  options: { clock?: Clock; logger?: Logger } = {},
): Promise<TokenProbeReport[]> {
  const reports: TokenProbeReport[] = [];
  for (const appId of await services.apps.listIds()) {
    try {
      const settings = await readProbeSettings(services.redis, appId);
      if (!settings.enabled) continue;
      const report = await runTokenProbe({
        redis: services.redis,
        registry: services.registry,
        dispatcher: services.dispatcher,
        appId,
        bundleId: (await services.apps.get(appId)).bundleId,
        settings,
        clock: options.clock,
      });
      await services.redis.set(probeKeys.report(appId), JSON.stringify(report));
      options.logger?.info("token probe finished", { ...report });
      reports.push(report);
    } catch (error) {
      options.logger?.error("token probe failed", { appId, message: (error as Error).message });
    }
  }
  return reports;
}
