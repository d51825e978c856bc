/**
 * An app's APNs credentials at rest: sealed with AES-GCM under MASTER_KEY and bound to the app
 * (`apns:<appId>`, `cert:<appId>`), so a sealed key cannot be moved to another app. Private to
 * lib/apps.
 *
 * @module
 */
import { z } from "zod";
import type { CertificateSummary } from "../apns/certificate.ts";
import type { SealedBox } from "../crypto/sealed_box.ts";
import { type CertificateUpload, readCertificateUpload } from "./certificate_upload.ts";
import type { AppRecord } from "./record.ts";
import type { CreateAppInput } from "./schemas.ts";

/** The APNs credentials of an app, decrypted for the relay (at least one is set). Never log these. */
export interface ApnsCredentials {
  token: { teamId: string; keyId: string; privateKeyPem: string } | null;
  certificate:
    | { certificatePem: string; privateKeyPem: string; summary: CertificateSummary }
    | null;
}

/** What was read from the certificate on upload, stored beside the sealed credential. */
export const CertificateInfo = z.object({
  subject: z.string(),
  environments: z.array(z.enum(["development", "production"])),
  topics: z.array(z.string()),
  notBefore: z.string(),
  expiresAt: z.string(),
  fingerprint: z.string(),
});

/** Seals a token credential (.p8): the app hash fields to set. */
export async function sealToken(
  box: SealedBox,
  appId: string,
  apns: NonNullable<CreateAppInput["apns"]>,
): Promise<Record<string, string>> {
  return {
    apnsTeamId: apns.teamId,
    apnsKeyId: apns.keyId,
    apnsKeySealed: await box.seal(apns.privateKey, `apns:${appId}`),
  };
}

/**
 * Reads an uploaded certificate (refusing a bad one) and seals it with its key: the app hash
 * fields to set. @throws {ValidationFailed}
 */
export async function sealCertificate(
  box: SealedBox,
  appId: string,
  options: { bundleId: string; upload: CertificateUpload; now: number },
): Promise<Record<string, string>> {
  const cert = await readCertificateUpload(options.upload, options);
  const plain = JSON.stringify({
    certificate: cert.certificatePem,
    privateKey: cert.privateKeyPem,
  });
  return {
    certSealed: await box.seal(plain, `cert:${appId}`),
    certInfo: JSON.stringify(cert.summary),
  };
}

/** Opens an app's sealed credentials. */
export async function openCredentials(
  box: SealedBox,
  record: AppRecord,
): Promise<ApnsCredentials> {
  let token: ApnsCredentials["token"] = null;
  if (record.apns) {
    const { teamId, keyId, sealedKey } = record.apns;
    token = { teamId, keyId, privateKeyPem: await box.open(sealedKey, `apns:${record.appId}`) };
  }
  let certificate: ApnsCredentials["certificate"] = null;
  if (record.certificate) {
    const parsed = JSON.parse(await box.open(record.certificate.sealed, `cert:${record.appId}`));
    certificate = {
      certificatePem: parsed.certificate,
      privateKeyPem: parsed.privateKey,
      summary: record.certificate.summary,
    };
  }
  return { token, certificate };
}
