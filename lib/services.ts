/**
 * Wires the domain services from already-built clients. main.ts (through lib/runtime/boot.ts)
 * and the test harness both call this, so tests exercise exactly what production runs. It reads no environment.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { type Apps, createApps, validateApnsKey } from "./apps/mod.ts";
import type { SealedBox } from "./crypto/sealed_box.ts";
import type { Logger } from "./observability/logger.ts";
import type { Metrics } from "./observability/metrics.ts";
import { createSegments, type Segments } from "./segments/mod.ts";
import { createRegistry, type Registry } from "./registry/mod.ts";
import { createEvents, type Events } from "./sends/mod.ts";
import type { SdkRateLimits } from "./ratelimit/mod.ts";
import { createTestSessions, type TestSessions } from "./test_sessions/mod.ts";
import { createRelay, type Relay } from "./apns/relay.ts";
import { appCredentialSource, createDispatcher, type Dispatcher } from "./dispatch/mod.ts";
import { createSends, type Sends } from "./sends/mod.ts";
import { CERTIFICATE_WARNING_DAYS, daysLeft } from "./apns/certificate.ts";
import { createDiagnosis, type DiagnosisService } from "./diagnosis/mod.ts";

/** What {@linkcode createServices} needs. */
export interface ServiceOptions {
  redis: Redis;
  box: SealedBox;
  logger: Logger;
  metrics: Metrics;
  /** APNs hosts (`host[:port]`) and extra CA. */
  apns: {
    productionHost: string;
    developmentHost: string;
    caPem?: string;
    connections?: number;
    /** Idle time before an APNs connection is closed (0 = never); default 600,000 ms. */
    idleCloseMs?: number;
  };
  /** SDK rate limits (lib/ratelimit); `null` disables them. */
  sdkRateLimit: SdkRateLimits | null;
  /** How long the SDK path may cache an app record, ms. */
  appCacheTtlMs?: number;
  /** Days without `lastSeenAt` after which an installation is stale. */
  staleAfterDays: number;
  /**
   * What a retried batch does with recipients a crashed worker left of unknown fate: `skip`
   * (nobody twice; counted failed `Unconfirmed`) or `resend` (nobody missed). Default: `skip`.
   */
  sendUncertain?: "skip" | "resend";
  /** Clock, for tests. Default: `Date.now`. */
  now?: () => number;
}

/** The domain services. */
export interface Services {
  redis: Redis;
  apps: Apps;
  /** Segments: definitions, member uploads, materialized reach sets. */
  segments: Segments;
  /** The token registry. */
  registry: Registry;
  /** Test sessions: scan-to-bind test devices. */
  testSessions: TestSessions;
  /** SDK delivery/open events. */
  events: Events;
  /** The APNs relay: this process's HTTP/2 pool. `relay.close()` on shutdown. */
  relay: Relay;
  /** The one push path every push goes through (over `relay`). */
  dispatcher: Dispatcher;
  /** Campaign sends (creation, status, cancel) and their workers. */
  sends: Sends;
  /** "Why didn't it arrive?": the checklist on one installation. */
  diagnosis: DiagnosisService;
  logger: Logger;
  metrics: Metrics;
  options: ServiceOptions;
}

/** Builds every domain service. */
export function createServices(options: ServiceOptions): Services {
  const apps = createApps({
    redis: options.redis,
    box: options.box,
    validateApnsKey,
    sdkCacheTtlMs: options.appCacheTtlMs,
    now: options.now,
  });
  defineCertificateGauges(options.metrics, apps, options.now ?? Date.now);
  const segments = createSegments({ redis: options.redis, now: options.now });
  const registry = createRegistry({
    redis: options.redis,
    now: options.now,
    rateLimits: options.sdkRateLimit,
  });
  const relay = createRelay({
    redis: options.redis,
    now: options.now,
    transport: {
      hosts: { production: options.apns.productionHost, development: options.apns.developmentHost },
      caPem: options.apns.caPem,
      connections: options.apns.connections,
      idleCloseMs: options.apns.idleCloseMs,
    },
  });
  const dispatcher = createDispatcher({
    relay,
    credentials: appCredentialSource(apps, { now: options.now }),
    registry,
  });
  const sends = createSends({
    redis: options.redis,
    registry,
    segments,
    dispatcher,
    logger: options.logger,
    uncertain: options.sendUncertain,
    now: options.now,
    credentialWarnings: (appId) => apps.sendingWarnings(appId),
  });
  return {
    redis: options.redis,
    apps,
    segments,
    registry,
    relay,
    dispatcher,
    sends,
    diagnosis: createDiagnosis({ apps, registry, segments, sends, now: options.now }),
    testSessions: createTestSessions({ redis: options.redis, now: options.now }),
    events: createEvents({
      redis: options.redis,
      rateLimits: options.sdkRateLimit,
      now: options.now,
    }),
    logger: options.logger,
    metrics: options.metrics,
    options,
  };
}

/**
 * Certificate-auth expiry on /metrics, read at scrape time: days left per app, and a 0/1
 * `expiring` gauge that turns 1 thirty days ahead, for an alert rule. An expired certificate
 * takes pushes down, so it must never be a surprise.
 */
function defineCertificateGauges(metrics: Metrics, apps: Apps, now: () => number) {
  let cached: { at: number; rows: Array<{ appId: string; days: number }> } | null = null;
  const read = async () => {
    if (cached && now() - cached.at < 60_000) return cached.rows;
    const rows: Array<{ appId: string; days: number }> = [];
    // /metrics must keep answering while Redis is away: the last reading stands.
    const ids = await apps.listIds().catch(() => null);
    if (!ids) return cached?.rows ?? [];
    for (const appId of ids.slice(0, 10_000)) {
      const record = await apps.get(appId).catch(() => null);
      const expiresAt = record?.certificate?.summary.expiresAt;
      if (!expiresAt) continue;
      rows.push({ appId, days: daysLeft(expiresAt, now()) });
    }
    cached = { at: now(), rows };
    return rows;
  };
  metrics.define(
    "edgepush_apns_certificate_expires_in_days",
    "Days until the app's APNs client certificate expires (negative: expired)",
    "gauge",
    {
      collect: async () =>
        (await read()).map((r) => ({ labels: { appId: r.appId }, value: r.days })),
    },
  );
  metrics.define(
    "edgepush_apns_certificate_expiring",
    `1 when the app's APNs client certificate expires within ${CERTIFICATE_WARNING_DAYS} days`,
    "gauge",
    {
      collect: async () =>
        (await read()).map((r) => ({
          labels: { appId: r.appId },
          value: r.days <= CERTIFICATE_WARNING_DAYS ? 1 : 0,
        })),
    },
  );
}
