/**
 * An app as stored: the fields of its Redis hash, the {@linkcode AppRecord} read from them with
 * its secrets still sealed (./_sealed_credentials.ts opens them), and the field changes a PATCH
 * makes.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { z } from "zod";
import type { CertificateSummary } from "../apns/certificate.ts";
import { appKeys } from "./_keys.ts";
import type { SealedBox } from "../crypto/sealed_box.ts";
import { randomSecret } from "../auth/secrets.ts";
import { CertificateInfo, sealCertificate, sealToken } from "./_sealed_credentials.ts";
import type { UpdateAppInput } from "./schemas.ts";

/** An app as stored, with secrets still sealed. */
export interface AppRecord {
  appId: string;
  name: string;
  bundleId: string;
  urlScheme: string | null;
  requireUserSignature: boolean;
  appKey: string;
  serverKeyHash: string;
  /** Token auth (.p8), or null for a certificate-only app. */
  apns: { teamId: string; keyId: string; sealedKey: string } | null;
  /** Certificate auth: the sealed certificate and key, and what the certificate allows. */
  certificate: { sealed: string; summary: CertificateSummary } | null;
  sealedUserSigningSecret: string | null;
  credentialError: { reason: string; message: string; at: string } | null;
  createdAt: string;
  updatedAt: string;
}

const StoredApp = z.object({
  appId: z.string(),
  name: z.string(),
  bundleId: z.string(),
  urlScheme: z.string().optional(),
  requireUserSignature: z.enum(["0", "1"]),
  appKey: z.string(),
  serverKeyHash: z.string(),
  apnsTeamId: z.string().optional(),
  apnsKeyId: z.string().optional(),
  apnsKeySealed: z.string().optional(),
  certSealed: z.string().optional(),
  certInfo: z.string().optional(),
  userSigningSecretSealed: z.string().optional(),
  credentialErrorReason: z.string().optional(),
  credentialErrorMessage: z.string().optional(),
  credentialErrorAt: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** Reads an app's record, or null when no app has this id. */
export async function loadApp(redis: Redis, appId: string): Promise<AppRecord | null> {
  const raw = await redis.hgetall<Record<string, string>>(appKeys.app(appId));
  if (!raw || Object.keys(raw).length === 0) return null;
  return toRecord(StoredApp.parse(raw));
}

function toRecord(s: z.infer<typeof StoredApp>): AppRecord {
  return {
    appId: s.appId,
    name: s.name,
    bundleId: s.bundleId,
    urlScheme: s.urlScheme ?? null,
    requireUserSignature: s.requireUserSignature === "1",
    appKey: s.appKey,
    serverKeyHash: s.serverKeyHash,
    apns: s.apnsKeySealed && s.apnsTeamId && s.apnsKeyId
      ? { teamId: s.apnsTeamId, keyId: s.apnsKeyId, sealedKey: s.apnsKeySealed }
      : null,
    certificate: s.certSealed && s.certInfo
      ? { sealed: s.certSealed, summary: CertificateInfo.parse(JSON.parse(s.certInfo)) }
      : null,
    sealedUserSigningSecret: s.userSigningSecretSealed ?? null,
    credentialError: s.credentialErrorReason
      ? {
        reason: s.credentialErrorReason,
        message: s.credentialErrorMessage ?? "",
        at: s.credentialErrorAt ?? "",
      }
      : null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/**
 * The hash fields a PATCH sets and deletes (the update script applies both in one step), and
 * the user-signing secret it creates or rotates, if any. New credentials are sealed here.
 * @throws {ValidationFailed} for an unusable certificate.
 */
export async function patchFields(
  box: SealedBox,
  record: AppRecord,
  patch: UpdateAppInput,
  now: () => number,
): Promise<{ set: Record<string, string>; unset: string[]; userSigningSecret?: string }> {
  const appId = record.appId;
  const set: Record<string, string> = { updatedAt: new Date(now()).toISOString() };
  const unset: string[] = [];
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.urlScheme === null) unset.push("urlScheme");
  else if (patch.urlScheme !== undefined) set.urlScheme = patch.urlScheme;
  if (patch.apns === null) unset.push("apnsTeamId", "apnsKeyId", "apnsKeySealed");
  else if (patch.apns) Object.assign(set, await sealToken(box, appId, patch.apns));
  if (patch.certificate === null) unset.push("certSealed", "certInfo");
  else if (patch.certificate) {
    Object.assign(
      set,
      await sealCertificate(box, appId, {
        bundleId: record.bundleId,
        upload: patch.certificate,
        now: now(),
      }),
    );
  }
  if (patch.apns !== undefined || patch.certificate !== undefined) {
    // A new or removed credential starts with a clean slate.
    unset.push("credentialErrorReason", "credentialErrorMessage", "credentialErrorAt");
  }
  let userSigningSecret: string | undefined;
  const wantsSignature = patch.requireUserSignature ?? record.requireUserSignature;
  if (patch.requireUserSignature !== undefined) {
    set.requireUserSignature = patch.requireUserSignature ? "1" : "0";
  }
  if (
    patch.rotateUserSigningSecret || (wantsSignature && !record.sealedUserSigningSecret)
  ) {
    userSigningSecret = randomSecret(32);
    set.userSigningSecretSealed = await box.seal(userSigningSecret, `usersig:${appId}`);
  }
  return { set, unset, userSigningSecret };
}
