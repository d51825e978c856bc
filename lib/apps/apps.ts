/**
 * The apps store: creation, settings and credential changes, deletion, key rotation, and the
 * door to everything else about an app. The parts live beside it: the stored record
 * (./record.ts), credentials sealed at rest (./_sealed_credentials.ts), API keys and their
 * authentication (./api_keys.ts), the apps index (./app_index.ts) and certificate expiry
 * (./certificate_expiry.ts).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { Conflict, NotFound } from "../errors.ts";
import { randomId, randomSecret, sha256Hex } from "../auth/secrets.ts";
import type { SealedBox } from "../crypto/sealed_box.ts";
import { type CredentialWarning, daysLeft } from "../apns/certificate.ts";
import { appKeys } from "./_keys.ts";
import {
  type ApnsCredentials,
  openCredentials,
  sealCertificate,
  sealToken,
} from "./_sealed_credentials.ts";
import { createKeyAuthentication, newAppKey, newServerKey } from "./api_keys.ts";
import { listAppIds, repairAppIndex } from "./app_index.ts";
import {
  credentialWarnings,
  type ExpiringCertificate,
  findExpiringCertificates,
} from "./certificate_expiry.ts";
import { type AppRecord, loadApp, patchFields } from "./record.ts";
import type { AppViewData, CreateAppInput, UpdateAppInput } from "./schemas.ts";
import updateAppLua from "./scripts/update_app.lua" with { type: "text" };

export type { ApnsCredentials, AppRecord, ExpiringCertificate };
export { listAppIds };

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
  const credentialListeners = new Set<(appId: string) => void>();
  const credentialsChanged = (appId: string) => {
    for (const listener of credentialListeners) listener(appId);
  };
  const updateScript = redis.createScript<number>(updateAppLua);

  const load = (appId: string) => loadApp(redis, appId);
  const apiKeys = createKeyAuthentication({
    load,
    now,
    sdkCacheTtlMs: options.sdkCacheTtlMs ?? 2_000,
  });

  return {
    /**
     * Creates an app with a token credential, a certificate, or both; both are checked before
     * anything is written, so a bad credential writes nothing. @throws {ValidationFailed}
     */
    async create(input: CreateAppInput): Promise<CreatedAppSecrets> {
      if (input.apns) await options.validateApnsKey(input.apns.privateKey);
      const appId = `app_${randomId(12)}`;
      const appKey = newAppKey(appId);
      const serverKey = newServerKey(appId);
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
        warnings: credentialWarnings(record, now()),
        createdAt: record.createdAt,
        updatedAt: record.updatedAt,
      };
    },

    /** The warnings about an app's credentials (a certificate expiring or expired). */
    warnings(record: AppRecord): CredentialWarning[] {
      return credentialWarnings(record, now());
    },

    /**
     * The warnings about the credential the app's pushes use: its certificate's when it sends
     * with it (no token key); none for a deleted app.
     */
    async sendingWarnings(appId: string): Promise<CredentialWarning[]> {
      const record = await load(appId);
      return record && !record.apns ? credentialWarnings(record, now()) : [];
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
      const { set, unset, userSigningSecret } = await patchFields(box, record, patch, now);
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
      apiKeys.forget();
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
      apiKeys.forget();
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
      const serverKey = newServerKey(appId);
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
    authenticateServer: apiKeys.authenticateServer,

    /**
     * Resolves a server key on its own (the console's sign-in, where no app id is in a path).
     * @throws {Unauthorized} when the key is malformed or matches no app.
     */
    authenticateServerKey: apiKeys.authenticateServerKey,

    /** Resolves an SDK app key (public). Reuses a record for `sdkCacheTtlMs`. @throws {Unauthorized} */
    authenticateSdk: apiKeys.authenticateSdk,

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
     * Makes the apps index match the app records: adds apps whose index entry was lost and
     * drops ids with no record. SCANs the whole keyspace: for a daily job.
     */
    async repairIndex(): Promise<{ added: string[]; removed: string[] }> {
      return await repairAppIndex(redis);
    },

    /**
     * Every app whose certificate expires within `days` (default 30) or has expired, soonest
     * first, for the expiry log line. Reads at most 10,000 apps.
     */
    async expiringCertificates(days?: number): Promise<ExpiringCertificate[]> {
      return await findExpiringCertificates(await this.listIds(), { load, now, days });
    },

    /** Every app id, for jobs. */
    async listIds(): Promise<string[]> {
      return await listAppIds(redis);
    },
  };
}
