/**
 * The rules an uploaded certificate credential must meet before an app stores it: readable,
 * its key matching, valid now, an APNs certificate, and made for the app's bundle id. Every
 * refusal is a 400 that says what to do; nothing is stored.
 *
 * @module
 */
import {
  type CertificateCredential,
  type CertificateUpload,
  readCertificateFiles,
} from "../apns/certificate_files.ts";
import { ValidationFailed } from "../errors.ts";

export type { CertificateCredential, CertificateUpload };

function refuse(message: string): never {
  throw new ValidationFailed(message, [{ path: "certificate", message }]);
}

/**
 * Reads and checks an uploaded certificate credential for the app whose bundle id is
 * `bundleId`: the key must match, the certificate must be valid now, be an APNs certificate
 * and list the bundle id among its topics.
 *
 * @throws {ValidationFailed} naming what is wrong and how to fix it.
 */
export async function readCertificateUpload(
  upload: CertificateUpload,
  options: { bundleId: string; now?: number },
): Promise<CertificateCredential> {
  const credential = await readCertificateFiles(upload);
  const { summary } = credential;
  const now = options.now ?? Date.now();
  if (Date.parse(summary.expiresAt) <= now) {
    refuse(
      `the certificate expired on ${summary.expiresAt}: create a new one in the Apple Developer ` +
        "portal (Certificates, Identifiers & Profiles) and upload it",
    );
  }
  if (Date.parse(summary.notBefore) > now) {
    refuse(`the certificate is not valid until ${summary.notBefore}`);
  }
  if (summary.environments.length === 0) {
    refuse(
      `not an Apple Push Notification service certificate: "${summary.subject}" carries neither ` +
        "APNs environment extension (development 1.2.840.113635.100.6.3.1, production " +
        "1.2.840.113635.100.6.3.2)",
    );
  }
  if (!summary.topics.includes(options.bundleId)) {
    refuse(
      `the certificate is for ${summary.topics.join(", ") || "no topic"}, not for this app's ` +
        `bundle id ${options.bundleId}`,
    );
  }
  return credential;
}
