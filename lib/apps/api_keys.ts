/**
 * An app's API keys: the secret server key (`sk_…`, only its hash is stored) and the public SDK
 * app key (`ak_…`). Both carry the app id, so a presented key is resolved with one read of its
 * app's record, without an index from keys to apps.
 *
 * @module
 */
import { Forbidden, Unauthorized } from "../errors.ts";
import { matchesHash, randomSecret } from "../auth/secrets.ts";
import type { AppRecord } from "./record.ts";

/** A new server key for `appId` (store only its hash). */
export function newServerKey(appId: string): string {
  return `sk_${appId.slice(4)}_${randomSecret(32)}`;
}

/** A new SDK app key for `appId` (public: it ships inside the app). */
export function newAppKey(appId: string): string {
  return `ak_${appId.slice(4)}_${randomSecret(18)}`;
}

/** Options of {@linkcode createKeyAuthentication}. */
export interface KeyAuthenticationOptions {
  /** Reads an app's record, or null. */
  load(appId: string): Promise<AppRecord | null>;
  /** Clock in epoch ms. */
  now(): number;
  /** How long an SDK app key's record is reused, in ms; `0` = never. */
  sdkCacheTtlMs: number;
}

/** Resolves server keys and SDK app keys to their app. */
export interface KeyAuthentication {
  /**
   * Resolves a server key for the app in the URL.
   * @throws {Unauthorized} when the key is malformed or matches no app.
   * @throws {Forbidden} when the key is valid for another app.
   */
  authenticateServer(appId: string, serverKey: string): Promise<AppRecord>;
  /**
   * Resolves a server key on its own (the console's sign-in, where no app id is in a path).
   * @throws {Unauthorized} when the key is malformed or matches no app.
   */
  authenticateServerKey(serverKey: string): Promise<AppRecord>;
  /** Resolves an SDK app key (public), reusing a record for a while. @throws {Unauthorized} */
  authenticateSdk(appKey: string): Promise<AppRecord>;
  /** Drops every reused record, after an app changed or was deleted. */
  forget(): void;
}

/** Creates the key authentication of the apps store. */
export function createKeyAuthentication(options: KeyAuthenticationOptions): KeyAuthentication {
  const { load, now } = options;
  const ttl = options.sdkCacheTtlMs;
  // SDK requests are the hot path and the app key is public: a short reuse spares a read each.
  const sdkCache = new Map<string, { record: AppRecord; until: number }>();

  async function authenticateServer(appId: string, serverKey: string): Promise<AppRecord> {
    const keyApp = appIdFromKey(serverKey, "sk_");
    if (!keyApp) throw new Unauthorized("invalid server key");
    const record = await load(keyApp);
    if (!record || !(await matchesHash(serverKey, record.serverKeyHash))) {
      throw new Unauthorized("invalid server key");
    }
    if (keyApp !== appId) throw new Forbidden("this server key belongs to another app");
    return record;
  }

  return {
    authenticateServer,
    async authenticateServerKey(serverKey) {
      const keyApp = appIdFromKey(serverKey, "sk_");
      if (!keyApp) throw new Unauthorized("invalid server key");
      return await authenticateServer(keyApp, serverKey);
    },
    async authenticateSdk(appKey) {
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
    forget() {
      sdkCache.clear();
    },
  };
}

function appIdFromKey(key: string, prefix: "sk_" | "ak_"): string | null {
  const match = new RegExp(`^${prefix}([0-9a-f]{24})_[A-Za-z0-9_-]{16,64}$`).exec(key);
  return match ? `app_${match[1]}` : null;
}
