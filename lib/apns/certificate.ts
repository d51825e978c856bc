/**
 * Reads what Apple wrote into an APNs client certificate (certificate auth): the environments
 * it may push to, its topics, its validity and its fingerprint. Decoding is done by
 * `@peculiar/asn1-x509` (the certificate) and `asn1js` (the topics extension's value).
 *
 * @module
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import * as asn1js from "asn1js";
import { ValidationFailed } from "../errors.ts";
import type { ApnsEnvironment } from "./hosts.ts";

/** Apple's extension OIDs on APNs certificates. */
export const APNS_CERTIFICATE_OIDS = {
  /** Development (sandbox) environment. */
  development: "1.2.840.113635.100.6.3.1",
  /** Production environment. */
  production: "1.2.840.113635.100.6.3.2",
  /** The topics the certificate may push to (bundle id, `.voip`, `.complication`, …). */
  topics: "1.2.840.113635.100.6.3.6",
} as const;

const UID_OID = "0.9.2342.19200300.100.1.1";
const CN_OID = "2.5.4.3";
const DAY_MS = 86_400_000;

/** Days before expiry from which a certificate is reported as expiring soon. */
export const CERTIFICATE_WARNING_DAYS = 30;

/** What a certificate allows, as the app view shows it (`certificate` in DESIGN.md). */
export interface CertificateSummary {
  /** The subject's common name (for Apple's: "Apple Push Services: <bundle id>"). */
  subject: string;
  /** The APNs environments the certificate carries an extension for. */
  environments: ApnsEnvironment[];
  /** The subject's UID and the topics extension's entries, without duplicates. */
  topics: string[];
  /** ISO 8601. */
  notBefore: string;
  /** ISO 8601. */
  expiresAt: string;
  /** SHA-256 of the certificate's DER, lowercase hex. */
  fingerprint: string;
}

/** A parsed certificate: its summary and its DER. */
export interface ParsedCertificate {
  summary: CertificateSummary;
  der: Uint8Array<ArrayBuffer>;
}

/** A warning shown on the app and send views. */
export interface CredentialWarning {
  code: "certificate_expires_soon" | "certificate_expired";
  message: string;
}

/** The DER bytes of the first `CERTIFICATE` block of a PEM, or null when there is none. */
export function pemToDer(pem: string, label = "CERTIFICATE"): Uint8Array<ArrayBuffer> | null {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`)
    .exec(pem);
  if (!match) return null;
  try {
    return Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

/** A DER certificate as PEM. */
export function derToPem(der: Uint8Array, label = "CERTIFICATE"): string {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Parses an X.509 certificate (PEM or DER) and reads Apple's extensions.
 *
 * @throws {ValidationFailed} when it is not an X.509 certificate.
 * @example (await parseCertificate(pem)).summary.environments // ["development", "production"]
 */
export async function parseCertificate(input: string | Uint8Array): Promise<ParsedCertificate> {
  const der = typeof input === "string" ? pemToDer(input) : new Uint8Array(input);
  let cert: Certificate;
  try {
    if (!der) throw new Error("no PEM block");
    cert = AsnConvert.parse(der, Certificate);
  } catch {
    throw new ValidationFailed("not a certificate: expected a PEM X.509 certificate", [{
      path: "certificate.certificate",
      message: "not a PEM X.509 certificate",
    }]);
  }
  const tbs = cert.tbsCertificate;
  const names = new Map<string, string>();
  for (const rdn of tbs.subject) {
    for (const attribute of rdn) {
      if (!names.has(attribute.type)) names.set(attribute.type, attribute.value.toString());
    }
  }
  const extensions = new Map((tbs.extensions ?? []).map((e) => [e.extnID, e]));
  const environments: ApnsEnvironment[] = [];
  if (extensions.has(APNS_CERTIFICATE_OIDS.development)) environments.push("development");
  if (extensions.has(APNS_CERTIFICATE_OIDS.production)) environments.push("production");
  const topics = new Set<string>();
  const uid = names.get(UID_OID);
  if (uid) topics.add(uid);
  const topicsExtension = extensions.get(APNS_CERTIFICATE_OIDS.topics);
  if (topicsExtension) {
    for (const topic of readTopics(topicsExtension.extnValue.buffer)) topics.add(topic);
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return {
    der,
    summary: {
      subject: names.get(CN_OID) ?? [...names.values()].join(", "),
      environments,
      topics: [...topics],
      notBefore: tbs.validity.notBefore.getTime().toISOString(),
      expiresAt: tbs.validity.notAfter.getTime().toISOString(),
      fingerprint: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
    },
  };
}

/**
 * The topics extension is a SEQUENCE alternating a topic (UTF8String) and a SEQUENCE of the
 * push kinds it serves (`app`, `voip`, `complication`, …); the topics are its string items.
 * An unreadable value yields no topics rather than an error: the UID still names the app.
 */
function readTopics(value: ArrayBuffer): string[] {
  const decoded = asn1js.fromBER(value);
  if (decoded.offset === -1 || !(decoded.result instanceof asn1js.Sequence)) return [];
  const topics: string[] = [];
  for (const item of decoded.result.valueBlock.value) {
    if (item instanceof asn1js.Utf8String || item instanceof asn1js.PrintableString) {
      const topic = item.getValue().trim();
      if (topic && topic.length <= 255) topics.push(topic);
    }
  }
  return topics.slice(0, 64);
}

/** Whole days until `expiresAt` (negative once expired). */
export function daysLeft(expiresAt: string, now: number = Date.now()): number {
  return Math.floor((Date.parse(expiresAt) - now) / DAY_MS);
}

/** The expiry warnings for a certificate expiring at `expiresAt` (none when it is far off). */
export function certificateWarnings(
  expiresAt: string | null | undefined,
  now: number = Date.now(),
): CredentialWarning[] {
  if (!expiresAt) return [];
  const at = Date.parse(expiresAt);
  if (at <= now) {
    return [{
      code: "certificate_expired",
      message: `the APNs certificate expired on ${expiresAt}; sends that need it fail with ` +
        "ExpiredCertificate until a renewed one is uploaded (PATCH certificate)",
    }];
  }
  const days = daysLeft(expiresAt, now);
  if (days > CERTIFICATE_WARNING_DAYS) return [];
  return [{
    code: "certificate_expires_soon",
    message: `the APNs certificate expires on ${expiresAt} (${days} days left); renew it in ` +
      "the Apple Developer portal and upload the new one (PATCH certificate)",
  }];
}

/** Why a certificate may not carry a push, as the failure reason recorded for the recipient. */
export type CertificateRefusal =
  | "ExpiredCertificate"
  | "BadCertificateEnvironment"
  | "TopicDisallowed";

/**
 * Checks a push against what the certificate allows, before any APNs request: not expired,
 * the recipient's environment among its environments, the topic (bundle id plus the push
 * type's suffix) among its topics. Returns why it may not be sent, or null.
 *
 * @example certificateRefusal(summary, { environment: "production", topic: "com.x.voip" })
 */
export function certificateRefusal(
  summary: Pick<CertificateSummary, "environments" | "topics" | "expiresAt">,
  push: { environment: ApnsEnvironment; topic: string | undefined; now?: number },
): CertificateRefusal | null {
  if (Date.parse(summary.expiresAt) <= (push.now ?? Date.now())) return "ExpiredCertificate";
  if (!summary.environments.includes(push.environment)) return "BadCertificateEnvironment";
  if (push.topic !== undefined && !summary.topics.includes(push.topic)) return "TopicDisallowed";
  return null;
}
