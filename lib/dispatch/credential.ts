/**
 * Which APNs credential an app's pushes use, decided in one function, and where the dispatcher
 * gets it from: the apps store (decrypted, cached briefly, dropped when this process changes it)
 * or a fixed credential (the push CLI).
 *
 * @module
 */
import type { AppCredential, CredentialProblem, RelayApp } from "../apns/mod.ts";
import type { ApnsCredentials, AppRecord, Apps } from "../apps/mod.ts";

/**
 * The credential an app's pushes go out with: token auth (.p8) when the app has a key, else its
 * certificate (mTLS). With both, token auth is used: one provider token per team serves every
 * app and never expires on a date, and the certificate stays ready for the day the key is
 * removed. This is the one place the choice is made: the relay and the transport follow
 * whatever kind it returns (a certificate with what it allows, checked before each push).
 */
export function chooseCredential(_record: AppRecord, credentials: ApnsCredentials): AppCredential {
  if (credentials.token) return { kind: "token", ...credentials.token };
  const certificate = credentials.certificate;
  if (!certificate) throw new Error("an app always holds a token key or a certificate");
  return {
    kind: "certificate",
    certPem: certificate.certificatePem,
    keyPem: certificate.privateKeyPem,
    summary: certificate.summary,
  };
}

/** Where the dispatcher gets an app's credential, and where it reports APNs refusing one. */
export interface CredentialSource {
  /** The app's bundle id and chosen credential. */
  load(appId: string): Promise<RelayApp>;
  /** APNs refused the app's credential: remember it for the app's owner, stop reusing it. */
  refused(appId: string, problem: CredentialProblem): Promise<void>;
}

/** Options of {@linkcode appCredentialSource}. */
export interface AppCredentialSourceOptions {
  /** How long a decrypted credential is reused, ms. Default: 10,000. */
  cacheMs?: number;
  /** Clock (epoch ms). Default: `Date.now`. */
  now?: () => number;
}

/**
 * Credentials from the apps store: decrypted on first use, chosen by
 * {@linkcode chooseCredential}, reused for `cacheMs` without a Redis read (a campaign's batches
 * go out right after their claim); a refusal is recorded on the app (`GET /v1/apps/:appId`
 * shows it) and drops the cached one. A credential changed through this process's apps store
 * (`PATCH /v1/apps/:appId`, the console) drops it too, so the very next push uses the new one;
 * workers in other processes pick it up within `cacheMs`.
 * @throws {AppNotFound} from `load` when the app is gone.
 */
export function appCredentialSource(
  apps:
    & Pick<Apps, "get" | "credentials" | "recordCredentialError">
    & Partial<Pick<Apps, "onCredentialsChange">>,
  options: AppCredentialSourceOptions = {},
): CredentialSource {
  const cacheMs = options.cacheMs ?? 10_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { app: RelayApp; until: number }>();
  apps.onCredentialsChange?.((appId) => cache.delete(appId));
  return {
    async load(appId) {
      const cached = cache.get(appId);
      if (cached && cached.until > now()) return cached.app;
      const record = await apps.get(appId);
      const app: RelayApp = {
        bundleId: record.bundleId,
        credential: chooseCredential(record, await apps.credentials(record)),
      };
      if (cache.size > 1_000) cache.clear();
      cache.set(appId, { app, until: now() + cacheMs });
      return app;
    },
    async refused(appId, problem) {
      cache.delete(appId);
      await apps.recordCredentialError(appId, problem);
    },
  };
}

/** A fixed credential (the push CLI's, read from files); refusals are only reported back. */
export function staticCredentialSource(app: RelayApp): CredentialSource {
  return {
    load: () => Promise.resolve(app),
    refused: () => Promise.resolve(),
  };
}
