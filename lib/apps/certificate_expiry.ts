/**
 * What an app's certificate credential's expiry means for its owner and operator: the warnings
 * shown with the app (expiring within 30 days, or expired), and the list of every certificate
 * close to expiry for the daily log line.
 *
 * @module
 */
import {
  CERTIFICATE_WARNING_DAYS,
  certificateWarnings,
  type CredentialWarning,
  daysLeft,
} from "../apns/certificate.ts";
import type { AppRecord } from "./record.ts";

/** A certificate close to (or past) its expiry, for the expiry log line. */
export interface ExpiringCertificate {
  appId: string;
  subject: string;
  expiresAt: string;
  daysLeft: number;
}

/** The warnings about an app's credentials (a certificate expiring or expired) at `now`. */
export function credentialWarnings(record: AppRecord, now: number): CredentialWarning[] {
  return certificateWarnings(record.certificate?.summary.expiresAt, now);
}

/**
 * Every app among `appIds` whose certificate expires within `days` (default 30) or has expired,
 * soonest first. Reads at most 10,000 apps, one at a time.
 */
export async function findExpiringCertificates(
  appIds: string[],
  options: {
    load(appId: string): Promise<AppRecord | null>;
    now(): number;
    days?: number;
  },
): Promise<ExpiringCertificate[]> {
  const days = options.days ?? CERTIFICATE_WARNING_DAYS;
  const found: ExpiringCertificate[] = [];
  for (const appId of appIds.slice(0, 10_000)) {
    const summary = (await options.load(appId))?.certificate?.summary;
    if (!summary) continue;
    const left = daysLeft(summary.expiresAt, options.now());
    if (left <= days) {
      found.push({
        appId,
        subject: summary.subject,
        expiresAt: summary.expiresAt,
        daysLeft: left,
      });
    }
  }
  return found.sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
}
