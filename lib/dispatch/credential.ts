/**
 * Which APNs credential an app's pushes use, decided in one function, and where the dispatcher
 * gets it from: the apps store (read per dispatch, decrypted once per credential) or a fixed
 * credential (the push CLI).
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

/**
 * Credentials from the apps store, chosen by {@linkcode chooseCredential}. Every load reads the
 * app's record (one Redis read), so a credential added, replaced or removed with
 * `PATCH /v1/apps/:appId` is what the very next push uses; only the decryption is cached, for as
 * long as the record holds the same sealed credentials. A refusal is recorded on the app
 * (`GET /v1/apps/:appId` shows it) and drops the cached one.
 * @throws {AppNotFound} from `load` when the app is gone.
 */
export function appCredentialSource(
  apps: Pick<Apps, "get" | "credentials" | "recordCredentialError">,
): CredentialSource {
  const cache = new Map<string, { stamp: string; credential: AppCredential }>();
  return {
    async load(appId) {
      const record = await apps.get(appId);
      const stamp = credentialStamp(record);
      const cached = cache.get(appId);
      if (cached?.stamp === stamp) {
        return { bundleId: record.bundleId, credential: cached.credential };
      }
      const credential = chooseCredential(record, await apps.credentials(record));
      if (cache.size > 1_000) cache.clear();
      cache.set(appId, { stamp, credential });
      return { bundleId: record.bundleId, credential };
    },
    async refused(appId, problem) {
      cache.delete(appId);
      await apps.recordCredentialError(appId, problem);
    },
  };
}

/** What identifies the credentials a record holds: their sealed (encrypted) forms. */
function credentialStamp(record: AppRecord): string {
  const { apns, certificate } = record;
  return JSON.stringify([apns?.teamId, apns?.keyId, apns?.sealedKey, certificate?.sealed]);
}

/** A fixed credential (the push CLI's, read from files); refusals are only reported back. */
export function staticCredentialSource(app: RelayApp): CredentialSource {
  return {
    load: () => Promise.resolve(app),
    refused: () => Promise.resolve(),
  };
}
