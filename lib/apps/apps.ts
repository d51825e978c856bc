/**
 * The apps store: creation, credentials sealed at rest, key rotation and authentication of
 * server keys and app keys.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { z } from "zod";
import { Conflict, Forbidden, NotFound, Unauthorized } from "../errors.ts";
import { matchesHash, randomId, randomSecret, sha256Hex } from "../auth/secrets.ts";
import type { SealedBox } from "../crypto/sealed_box.ts";
import {
  CERTIFICATE_WARNING_DAYS,
  type CertificateSummary,
  certificateWarnings,
  type CredentialWarning,
  daysLeft,
} from "../apns/certificate.ts";
import { appKeys } from "./_keys.ts";
import {
  type ApnsCredentials,
  CertificateInfo,
  openCredentials,
  sealCertificate,
  sealToken,
} from "./_sealed_credentials.ts";

export type { ApnsCredentials };
import type { AppViewData, CreateAppInput, UpdateAppInput } from "./schemas.ts";
import updateAppLua from "./scripts/update_app.lua" with { type: "text" };

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

/** A certificate close to (or past) its expiry, for the expiry log line. */
export interface ExpiringCertificate {
  appId: string;
  subject: string;
  expiresAt: string;
  daysLeft: number;
}

/** `POST /v1/apps` result: the only time the secrets are shown. */
export interface CreatedAppSecrets {
  appId: string;
  appKey: string;
  serverKey: string;
  userSigningSecret?: string;
}

/** Options for {@linkcode createApps}. */
export interface AppsOptions {
  redis: Redis;
  /** Encrypts credentials at rest under MASTER_KEY. */
  box: SealedBox;
  /** Checks an uploaded .p8 key; throws `ValidationFailed` when it is unusable. */
  validateApnsKey: (pem: string) => Promise<void>;
  /** How long the SDK path may reuse an app record, in ms. Default: `2000`. */
  sdkCacheTtlMs?: number;
  /** Clock, for tests. Default: `Date.now`. */
  now?: () => number;
}

/** The apps store. */
export type Apps = ReturnType<typeof createApps>;

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

/** Thrown when an app id names no app. */
export class AppNotFound extends NotFound {
  override name = "AppNotFound";
  constructor() {
    super("app not found");
  }
}

/** Creates the apps store. */
export function createApps(options: AppsOptions) {
  const { redis, box } = options;
  const now = options.now ?? Date.now;
  const ttl = options.sdkCacheTtlMs ?? 2_000;
  const sdkCache = new Map<string, { record: AppRecord; until: number }>();
  const credentialListeners = new Set<(appId: string) => void>();
  const credentialsChanged = (appId: string) => {
    for (const listener of credentialListeners) listener(appId);
  };
  const updateScript = redis.createScript<number>(updateAppLua);

  async function load(appId: string): Promise<AppRecord | null> {
    const raw = await redis.hgetall<Record<string, string>>(appKeys.app(appId));
    if (!raw || Object.keys(raw).length === 0) return null;
    return toRecord(StoredApp.parse(raw));
  }

  return {
    /**
     * Creates an app with a token credential, a certificate, or both; both are checked before
     * anything is written, so a bad credential writes nothing. @throws {ValidationFailed}
     */
    async create(input: CreateAppInput): Promise<CreatedAppSecrets> {
      if (input.apns) await options.validateApnsKey(input.apns.privateKey);
      const appId = `app_${randomId(12)}`;
      const appKey = `ak_${appId.slice(4)}_${randomSecret(18)}`;
      const serverKey = `sk_${appId.slice(4)}_${randomSecret(32)}`;
      const userSigningSecret = input.requireUserSignature ? randomSecret(32) : undefined;
      const stamp = new Date(now()).toISOString();
      const cert = input.certificate
        ? await sealCertificate(box, appId, {
          bundleId: input.bundleId,
          upload: input.certificate,
          now: now(),
        })
        : null;
      const fields: Record<string, string> = {
        appId,
        name: input.name,
        bundleId: input.bundleId,
        requireUserSignature: input.requireUserSignature ? "1" : "0",
        appKey,
        serverKeyHash: await sha256Hex(serverKey),
        ...(input.apns ? await sealToken(box, appId, input.apns) : {}),
        createdAt: stamp,
        updatedAt: stamp,
        ...(input.urlScheme ? { urlScheme: input.urlScheme } : {}),
        ...(cert ?? {}),
        ...(userSigningSecret
          ? { userSigningSecretSealed: await box.seal(userSigningSecret, `usersig:${appId}`) }
          : {}),
      };
      // The index is cross-app (its own slot in a cluster), so no transaction joins it to the
      // record: indexed first, a failed record write leaves an id that `repairIndex` drops;
      // an index entry lost by a failover is re-added by `repairIndex` from the record.
      await redis.sadd(appKeys.index(), appId);
      await redis.hset(appKeys.app(appId), fields);
      return { appId, appKey, serverKey, ...(userSigningSecret ? { userSigningSecret } : {}) };
    },

    /** Reads an app. @throws {AppNotFound} */
    async get(appId: string): Promise<AppRecord> {
      const record = await load(appId);
      if (!record) throw new AppNotFound();
      return record;
    },

    /** The admin view: summaries and warnings, no secrets. */
    view(record: AppRecord): AppViewData {
      const summary = record.certificate?.summary;
      return {
        appId: record.appId,
        name: record.name,
        bundleId: record.bundleId,
        urlScheme: record.urlScheme,
        requireUserSignature: record.requireUserSignature,
        appKey: record.appKey,
        apns: record.apns ? { teamId: record.apns.teamId, keyId: record.apns.keyId } : null,
        certificate: summary ? { ...summary, daysLeft: daysLeft(summary.expiresAt, now()) } : null,
        credentialError: record.credentialError,
        warnings: this.warnings(record),
        createdAt: record.createdAt,
        updatedAt: record.updatedAt,
      };
    },

    /** The warnings about an app's credentials (a certificate expiring or expired). */
    warnings(record: AppRecord): CredentialWarning[] {
      return certificateWarnings(record.certificate?.summary.expiresAt, now());
    },

    /**
     * The warnings about the credential the app's pushes use: its certificate's when it sends
     * with it (no token key); none for a deleted app.
     */
    async sendingWarnings(appId: string): Promise<CredentialWarning[]> {
      const record = await load(appId);
      return record && !record.apns ? this.warnings(record) : [];
    },

    /**
     * Changes settings, adds, replaces or removes credentials. A user-signing secret that is
     * created or rotated here is returned once in `userSigningSecret`.
     * @throws {AppNotFound}
     * @throws {ValidationFailed} for an unusable key or certificate (nothing is written).
     * @throws {Conflict} when the app would be left without a credential.
     */
    async update(appId: string, patch: UpdateAppInput): Promise<AppViewData> {
      const record = await this.get(appId);
      if (patch.apns) await options.validateApnsKey(patch.apns.privateKey);
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
      const applied = await updateScript.exec(
        [appKeys.app(appId)],
        [JSON.stringify(set), JSON.stringify(unset)],
      );
      if (Number(applied) === 0) throw new AppNotFound();
      if (Number(applied) === -1) {
        throw new Conflict(
          "an app needs a credential: upload the other one (apns or certificate) before removing this one",
          [{
            path: patch.apns === null ? "apns" : "certificate",
            message: "the app's last credential",
          }],
        );
      }
      sdkCache.clear();
      if (patch.apns !== undefined || patch.certificate !== undefined) credentialsChanged(appId);
      const view = this.view(await this.get(appId));
      return userSigningSecret ? { ...view, userSigningSecret } : view;
    },

    /**
     * Calls `listener` with the app id whenever this process adds, replaces or removes an app's
     * credentials or deletes the app, so that caches of decrypted credentials drop it at once.
     * @returns a function that removes the listener.
     */
    onCredentialsChange(listener: (appId: string) => void): () => void {
      credentialListeners.add(listener);
      return () => credentialListeners.delete(listener);
    },

    /** Deletes an app and, in bounded SCAN batches, every key it owns. @throws {AppNotFound} */
    async remove(appId: string): Promise<void> {
      const removed = await redis.del(appKeys.app(appId));
      await redis.srem(appKeys.index(), appId);
      sdkCache.clear();
      credentialsChanged(appId);
      if (!removed) throw new AppNotFound();
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, {
          match: `${appKeys.prefix(appId)}*`,
          count: 500,
        });
        cursor = String(next);
        if (keys.length) await redis.unlink(...keys);
      } while (cursor !== "0");
    },

    /** Issues a new server key; the old one stops working at once. @throws {AppNotFound} */
    async rotateServerKey(appId: string): Promise<string> {
      await this.get(appId);
      const serverKey = `sk_${appId.slice(4)}_${randomSecret(32)}`;
      await redis.hset(appKeys.app(appId), {
        serverKeyHash: await sha256Hex(serverKey),
        updatedAt: new Date(now()).toISOString(),
      });
      return serverKey;
    },

    /**
     * Resolves a server key for the app in the URL.
     * @throws {Unauthorized} when the key is malformed or matches no app.
     * @throws {Forbidden} when the key is valid for another app.
     */
    async authenticateServer(appId: string, serverKey: string): Promise<AppRecord> {
      const keyApp = appIdFromKey(serverKey, "sk_");
      if (!keyApp) throw new Unauthorized("invalid server key");
      const record = await load(keyApp);
      if (!record || !(await matchesHash(serverKey, record.serverKeyHash))) {
        throw new Unauthorized("invalid server key");
      }
      if (keyApp !== appId) throw new Forbidden("this server key belongs to another app");
      return record;
    },

    /**
     * Resolves a server key on its own (the console's sign-in, where no app id is in a path).
     * @throws {Unauthorized} when the key is malformed or matches no app.
     */
    async authenticateServerKey(serverKey: string): Promise<AppRecord> {
      const keyApp = appIdFromKey(serverKey, "sk_");
      if (!keyApp) throw new Unauthorized("invalid server key");
      return await this.authenticateServer(keyApp, serverKey);
    },

    /** Resolves an SDK app key (public). Reuses a record for `sdkCacheTtlMs`. @throws {Unauthorized} */
    async authenticateSdk(appKey: string): Promise<AppRecord> {
      const cached = sdkCache.get(appKey);
      if (cached && cached.until > now()) return cached.record;
      const appId = appIdFromKey(appKey, "ak_");
      const record = appId ? await load(appId) : null;
      if (!record || record.appKey !== appKey) throw new Unauthorized("invalid app key");
      if (ttl > 0) {
        if (sdkCache.size > 10_000) sdkCache.clear();
        sdkCache.set(appKey, { record, until: now() + ttl });
      }
      return record;
    },

    /** Decrypts the APNs credentials for the relay. */
    credentials(record: AppRecord): Promise<ApnsCredentials> {
      return openCredentials(box, record);
    },

    /** Decrypts the user-signing secret, or null when the app has none. */
    async userSigningSecret(record: AppRecord): Promise<string | null> {
      if (!record.sealedUserSigningSecret) return null;
      return await box.open(record.sealedUserSigningSecret, `usersig:${record.appId}`);
    },

    /** Records the last credential error APNs reported, shown by `GET /v1/apps/:appId`. */
    async recordCredentialError(
      appId: string,
      error: { reason: string; message: string; at?: number },
    ): Promise<void> {
      await redis.hset(appKeys.app(appId), {
        credentialErrorReason: error.reason,
        credentialErrorMessage: error.message,
        credentialErrorAt: new Date(error.at ?? now()).toISOString(),
      });
    },

    /** Every app's admin view, sorted by name (`GET /v1/apps`, the console). */
    async list(): Promise<AppViewData[]> {
      const ids = await this.listIds();
      const records = await Promise.all(ids.map(load));
      return records.filter((r): r is AppRecord => r !== null).map((r) => this.view(r))
        .sort((a, b) => a.name.localeCompare(b.name) || a.appId.localeCompare(b.appId));
    },

    /**
     * Makes the apps index match the app records: adds apps whose index entry was lost (a
     * failed write, or a failover that lost an acknowledged one) and drops ids with no record.
     * SCANs the whole keyspace (every master of a cluster) in bounded batches: for a daily job.
     */
    async repairIndex(): Promise<{ added: string[]; removed: string[] }> {
      const found = new Set<string>();
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, { match: appKeys.anyApp(), count: 1_000 });
        cursor = String(next);
        for (const key of keys.map(String)) {
          const appId = appKeys.appIdOf(key);
          if (appId) found.add(appId);
        }
      } while (cursor !== "0");
      const indexed = new Set((await redis.smembers(appKeys.index())).map(String));
      const added = [...found].filter((id) => !indexed.has(id)).sort();
      if (added.length) await redis.sadd(appKeys.index(), added[0], ...added.slice(1));
      const removed: string[] = [];
      for (const id of indexed) {
        if (found.has(id) || Number(await redis.exists(appKeys.app(id))) === 1) continue;
        await redis.srem(appKeys.index(), id);
        removed.push(id);
      }
      return { added, removed: removed.sort() };
    },

    /**
     * Every app whose certificate expires within `days` (default 30) or has expired, soonest
     * first, for the expiry log line. Reads at most 10,000 apps.
     */
    async expiringCertificates(days = CERTIFICATE_WARNING_DAYS): Promise<ExpiringCertificate[]> {
      const found: ExpiringCertificate[] = [];
      for (const appId of (await this.listIds()).slice(0, 10_000)) {
        const summary = (await load(appId))?.certificate?.summary;
        if (!summary) continue;
        const left = daysLeft(summary.expiresAt, now());
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
    },

    /** Every app id, for jobs. */
    async listIds(): Promise<string[]> {
      return await listAppIds(redis);
    },
  };
}

/** Every app id, sorted (for jobs that run without the apps store's secrets). */
export async function listAppIds(redis: Redis): Promise<string[]> {
  return (await redis.smembers(appKeys.index())).map(String).sort();
}

function appIdFromKey(key: string, prefix: "sk_" | "ak_"): string | null {
  const match = new RegExp(`^${prefix}([0-9a-f]{24})_[A-Za-z0-9_-]{16,64}$`).exec(key);
  return match ? `app_${match[1]}` : null;
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
