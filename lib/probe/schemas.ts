/**
 * Uninstall-probe schemas: the settings body of `PUT /v1/apps/:appId/jobs/token-probe` and the
 * report a run writes.
 *
 * @module
 */
import { z } from "zod";

/** Uninstall probe settings (`PUT /v1/apps/:appId/jobs/token-probe`). */
export const ProbeSettingsBody = z.strictObject({
  enabled: z.boolean(),
  afterDays: z.number().int().min(1).max(3650).default(30),
  ratePerSecond: z.number().int().min(1).max(10_000).default(50),
});

/** Probe settings. */
export type ProbeSettings = z.infer<typeof ProbeSettingsBody>;

/** What a probe run found (stored as the app's last report). */
export const ProbeReport = z.object({
  appId: z.string(),
  enabled: z.boolean(),
  /** Installations a probe was sent to. */
  probed: z.number().int(),
  accepted: z.number().int(),
  /** Answered 410 Unregistered: the app is gone from the device. */
  unregistered: z.number().int(),
  /** Other failures (bad token, timeouts…). */
  failed: z.number().int(),
  durationMs: z.number(),
});

/** A probe run's report. */
export type TokenProbeReport = z.infer<typeof ProbeReport>;

/** `GET /v1/apps/:appId/jobs/token-probe` answer: the settings and the last run's report. */
export const ProbeStatus = z.object({
  enabled: z.boolean(),
  afterDays: z.number().int(),
  ratePerSecond: z.number().int(),
  lastReport: ProbeReport.nullable(),
});
