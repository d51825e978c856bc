/**
 * The uninstall probe (opt-in per app): a silent background push (priority 5,
 * `content-available`) to installations not seen for `afterDays`, so APNs answers 410
 * `Unregistered` for apps that were uninstalled and the registry can invalidate them.
 *
 * Settings live in `ep:v1:{appId}:probe` (`{enabled, afterDays, ratePerSecond}`; set with
 * `PUT /v1/apps/:appId/jobs/token-probe`). An installation is probed at most once per
 * `afterDays` (`ep:v1:{appId}:probed`). Sending is injected; {@linkcode relayProbeSender} is the
 * production one (the relay, with APNs' answers fed to the registry like any send's), and
 * {@linkcode runTokenProbes} runs every opted-in app from the daily `Deno.cron` in main.ts.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import type { Relay, RelayApp } from "../lib/apns/relay.ts";
import type { Apps } from "../lib/apps/mod.ts";
import type { Logger } from "../lib/observability/logger.ts";
import { applyFeedbackAll, type FeedbackRegistry } from "../lib/sends/feedback.ts";
import { registryKeys } from "../lib/registry/_keys.ts";
import {
  type ProbeSettings,
  ProbeSettingsBody,
  scanScoreRange,
  segmentKeys,
} from "../lib/segments/mod.ts";

const DAY_MS = 86_400_000;

/** Settings when the app never set any: off. */
export const DEFAULT_PROBE_SETTINGS: ProbeSettings = {
  enabled: false,
  afterDays: 30,
  ratePerSecond: 50,
};

/** Reads an app's probe settings (defaults when unset). */
export async function readProbeSettings(redis: Redis, appId: string): Promise<ProbeSettings> {
  const h = await redis.hgetall<Record<string, string>>(segmentKeys.probe(appId));
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
  await redis.hset(segmentKeys.probe(appId), {
    enabled: settings.enabled ? "1" : "0",
    afterDays: String(settings.afterDays),
    ratePerSecond: String(settings.ratePerSecond),
  });
  return settings;
}

/** The silent push a probe sends: body and `apns-*` headers, in the relay's message shape. */
export function probeMessage(bundleId: string): { body: string; headers: Record<string, string> } {
  return {
    body: JSON.stringify({ aps: { "content-available": 1 } }),
    headers: { "apns-push-type": "background", "apns-priority": "5", "apns-topic": bundleId },
  };
}

/** One installation to probe (the relay's `Recipient` shape). */
export interface ProbeRecipient {
  installationId: string;
  token: string;
  environment: "production" | "development";
  registeredAt: number;
}

/** The relay's answer for one recipient (a subset of its `SendResult`). */
export interface ProbeOutcome {
  installationId: string;
  status: "accepted" | "failed" | "skipped";
  reason?: string;
  feedback?: { kind: string };
}

/** Options for {@linkcode runTokenProbe}. */
export interface TokenProbeOptions {
  redis: Redis;
  appId: string;
  /** Sends the probe push to a batch (≤ ratePerSecond recipients) and answers per recipient. */
  send: (recipients: ProbeRecipient[]) => Promise<ProbeOutcome[]>;
  /** Settings to use instead of the stored ones. */
  settings?: ProbeSettings;
  /** Most installations probed in one run. Default: 100,000. */
  limit?: number;
  /** Clock. Default: `Date.now`. */
  now?: () => number;
  /** Waits `ms`; the rate limiter's only use of time. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** What a probe run found. */
export interface TokenProbeReport {
  appId: string;
  enabled: boolean;
  /** Installations a probe was sent to. */
  probed: number;
  accepted: number;
  /** Answered 410 Unregistered: the app is gone from the device. */
  unregistered: number;
  /** Other failures (bad token, timeouts…). */
  failed: number;
  durationMs: number;
}

/**
 * Probes an app's long-unseen installations at most `ratePerSecond` per second. Does nothing
 * (and says so) when the app has not opted in.
 */
export async function runTokenProbe(options: TokenProbeOptions): Promise<TokenProbeReport> {
  const { redis, appId } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const settings = options.settings ?? await readProbeSettings(redis, appId);
  const started = performance.now();
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
  const startMs = now();
  const cutoff = startMs - settings.afterDays * DAY_MS;
  let pending: ProbeRecipient[] = [];
  let windowStart = performance.now();

  const flush = async () => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    const elapsed = performance.now() - windowStart;
    if (report.probed > 0 && elapsed < 1000) await sleep(1000 - elapsed);
    windowStart = performance.now();
    const results = await options.send(batch);
    const p = redis.pipeline();
    for (const r of batch) {
      p.zadd(segmentKeys.probed(appId), { score: now(), member: r.installationId });
    }
    await p.exec();
    report.probed += batch.length;
    for (const r of results) {
      if (r.status === "accepted") report.accepted++;
      else if (r.feedback?.kind === "unregistered" || r.reason === "Unregistered") {
        report.unregistered++;
      } else if (r.status === "failed") report.failed++;
    }
  };

  class Done extends Error {}
  try {
    await scanScoreRange(redis, registryKeys.seen(appId), -Infinity, cutoff, async (ids) => {
      const p = redis.pipeline();
      for (const id of ids) {
        p.hmget(
          registryKeys.installation(appId, id),
          "status",
          "token",
          "environment",
          "registeredAt",
        );
        p.zscore(segmentKeys.probed(appId), id);
      }
      const rows = await p.exec<unknown[]>();
      for (let i = 0; i < ids.length; i++) {
        const [status, token, environment, registeredAt] = (rows[2 * i] ?? []) as (string | null)[];
        const probedAt = rows[2 * i + 1];
        if (status !== "active" || !token) continue;
        if (environment !== "production" && environment !== "development") continue;
        if (probedAt !== null && Number(probedAt) > cutoff) continue;
        if (report.probed + pending.length >= limit) throw new Done();
        pending.push({
          installationId: ids[i],
          token,
          environment,
          registeredAt: Number(registeredAt ?? 0),
        });
        if (pending.length >= settings.ratePerSecond) await flush();
      }
    });
  } catch (error) {
    if (!(error instanceof Done)) throw error;
  }
  await flush();
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/** The services a relay-backed probe needs (a subset of lib/services' `Services`). */
export interface ProbeServices {
  redis: Redis;
  apps: Pick<Apps, "get" | "credentials" | "recordCredentialError" | "listIds">;
  registry: FeedbackRegistry;
  relay: Pick<Relay, "sendBatch">;
}

/**
 * The `send` main.ts gives {@linkcode runTokenProbe}: the probe push through the relay, with
 * APNs' answers applied to the registry exactly as a campaign's are (410 → `unregistered`).
 */
export async function relayProbeSender(
  services: ProbeServices,
  appId: string,
): Promise<TokenProbeOptions["send"]> {
  const record = await services.apps.get(appId);
  const credentials = await services.apps.credentials(record);
  const app: RelayApp = {
    bundleId: record.bundleId,
    credential: { kind: "token", ...credentials.token },
  };
  const message = probeMessage(record.bundleId);
  return async (recipients) => {
    const sent = await services.relay.sendBatch(app, message, recipients);
    await applyFeedbackAll(services.registry, appId, recipients, sent);
    const credentialError = sent.find((r) => r.credentialError)?.credentialError;
    if (credentialError) await services.apps.recordCredentialError(appId, credentialError);
    return sent;
  };
}

/** The `Deno.cron` name main.ts registers the daily probe under. */
export const TOKEN_PROBE_CRON_NAME = "edgepush-token-probe";

/**
 * Probes every opted-in app in turn (apps that did not opt in cost one HGETALL) and returns one
 * report per app. A failing app is reported and does not stop the others.
 */
export async function runTokenProbes(
  services: ProbeServices,
  options: { now?: () => number; logger?: Logger } = {},
): Promise<TokenProbeReport[]> {
  const reports: TokenProbeReport[] = [];
  for (const appId of await services.apps.listIds()) {
    try {
      const settings = await readProbeSettings(services.redis, appId);
      if (!settings.enabled) continue;
      const report = await runTokenProbe({
        redis: services.redis,
        appId,
        settings,
        now: options.now,
        send: await relayProbeSender(services, appId),
      });
      await services.redis.set(segmentKeys.probeReport(appId), JSON.stringify(report));
      options.logger?.info("token probe finished", { ...report });
      reports.push(report);
    } catch (error) {
      options.logger?.error("token probe failed", { appId, message: (error as Error).message });
    }
  }
  return reports;
}

/** Reads the report of an app's last probe run, or `null`. */
export async function readProbeReport(
  redis: Redis,
  appId: string,
): Promise<TokenProbeReport | null> {
  const raw = await redis.get<string>(segmentKeys.probeReport(appId));
  if (typeof raw !== "string") return null;
  try {
    return JSON.parse(raw) as TokenProbeReport;
  } catch {
    return null;
  }
}
