/**
 * The certificate expiry log line: at start and once a day, one warning naming every app whose
 * APNs certificate expires within 30 days (or has expired), so that an operator reading the
 * logs sees it coming. /metrics carries the same as gauges, for alert rules.
 *
 * @module
 */
import type { Apps } from "../lib/apps/mod.ts";
import type { Logger } from "../lib/observability/logger.ts";

/** The `Deno.cron` name main.ts registers the daily line under. */
export const CERTIFICATE_EXPIRY_CRON_NAME = "edgepush-certificate-expiry";

/** The daily schedule (UTC). */
export const CERTIFICATE_EXPIRY_CRON = "0 8 * * *";

/**
 * Logs one warning naming every certificate within 30 days of expiry; logs nothing when none
 * is. Returns how many it named.
 */
export async function logExpiringCertificates(
  apps: Pick<Apps, "expiringCertificates">,
  logger: Logger,
): Promise<number> {
  const expiring = await apps.expiringCertificates();
  if (expiring.length === 0) return 0;
  const names = expiring.map((c) =>
    `${c.appId} (${c.subject}) ${c.daysLeft < 0 ? "expired" : "expires"} ${c.expiresAt}`
  );
  logger.warn(
    `APNs certificates expiring within 30 days: ${names.join("; ")}. Renew them in the Apple ` +
      "Developer portal and upload them (PATCH /v1/apps/:appId certificate).",
    { certificates: expiring },
  );
  return expiring.length;
}
