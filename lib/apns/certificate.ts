/**
 * Reads an APNs client certificate (certificate auth) so the app layer can show its subject and
 * expiry and warn before it lapses: an expired certificate takes pushes down.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { ValidationFailed } from "../errors.ts";

/** What the app layer needs to know about a certificate. */
export interface CertificateInfo {
  /** The subject's CN (for APNs certificates: "Apple Push Services: <bundle id>"). */
  subject: string;
  /** The bundle id from the subject's UID, when present. */
  topic?: string;
  /** notBefore / notAfter, epoch ms. */
  notBefore: number;
  notAfter: number;
  /** SHA-256 fingerprint (colon-separated hex). */
  fingerprint: string;
}

/**
 * Parses a PEM certificate.
 *
 * @throws {ValidationFailed} when the PEM is not an X.509 certificate.
 * @example new Date(parseCertificate(pem).notAfter).toISOString()
 */
export function parseCertificate(pem: string): CertificateInfo {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new ValidationFailed("the certificate is not a PEM X.509 certificate");
  }
  const fields = new Map(
    cert.subject.split("\n").map((line) => {
      const at = line.indexOf("=");
      return [line.slice(0, at), line.slice(at + 1)] as const;
    }),
  );
  return {
    subject: fields.get("CN") ?? cert.subject,
    topic: fields.get("UID"),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    fingerprint: cert.fingerprint256,
  };
}

/** Days until the certificate expires (negative once expired), for warnings. */
export function daysUntilExpiry(info: CertificateInfo, now: number = Date.now()): number {
  return Math.floor((info.notAfter - now) / 86_400_000);
}

/**
 * Checks a certificate credential on upload and returns its expiry (ISO 8601): the PEM must be
 * an X.509 certificate, the key must be its private key, and it must not have expired.
 *
 * @throws {ValidationFailed} naming what is wrong.
 */
export function inspectCertificate(
  certificatePem: string,
  privateKeyPem: string,
  now: number = Date.now(),
): string {
  const info = parseCertificate(certificatePem);
  let matches = false;
  try {
    matches = new X509Certificate(certificatePem).checkPrivateKey(createPrivateKey(privateKeyPem));
  } catch {
    throw new ValidationFailed("the certificate's private key is not a PEM private key");
  }
  if (!matches) throw new ValidationFailed("the private key does not belong to the certificate");
  if (info.notAfter <= now) {
    throw new ValidationFailed(
      `the certificate expired on ${new Date(info.notAfter).toISOString()}`,
    );
  }
  return new Date(info.notAfter).toISOString();
}
