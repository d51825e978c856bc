/**
 * The high-level sender: one message to a batch of recipients of one app, with APNs' answers
 * turned into per-recipient results and registry feedback (unregistered, bad token, corrected
 * environment). Used by sends, test sessions and anything else that pushes.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { certificateRefusal, type CertificateSummary } from "./certificate.ts";
import { ApnsCredentialError, type CredentialProblem } from "./credential_error.ts";
import {
  createSharedTokenSource,
  type ProviderTokenSource,
  type TokenCredential,
  type TokenSourceOptions,
} from "./jwt.ts";
import {
  type ApnsEnvironment,
  type ApnsResponse,
  ApnsTransportError,
  type ConnectionCredential,
  createTransport,
  type Transport,
  type TransportOptions,
} from "./transport.ts";

/** An app's APNs credential. */
export type AppCredential =
  | ({ kind: "token" } & TokenCredential)
  | {
    kind: "certificate";
    certPem: string;
    keyPem: string;
    /** What the certificate allows, checked before each push (see certificateRefusal). */
    summary?: CertificateSummary;
  };

/** The app a batch is sent for. */
export interface RelayApp {
  /** The bundle id (informational; the topic is in `message.headers`). */
  bundleId: string;
  credential: AppCredential;
}

/** A rendered message: payload JSON and `apns-*` headers (see buildPayload/buildHeaders). */
export interface RelayMessage {
  body: string;
  headers: Record<string, string>;
}

/** One recipient. */
export interface Recipient {
  installationId: string;
  token: string;
  environment: ApnsEnvironment;
  /** Last token registration (epoch ms): a 410 older than this is ignored. */
  registeredAt: number;
}

/** What the registry should learn from APNs' answer. */
export type Feedback =
  | { kind: "unregistered"; timestamp: number }
  | { kind: "bad_token" }
  | { kind: "environment"; environment: ApnsEnvironment };

/** The outcome for one recipient. */
export interface SendResult {
  installationId: string;
  status: "accepted" | "failed";
  apnsId?: string;
  /** APNs' reason, or `Timeout` / `ConnectionFailed` / `ClockSkew` / `CredentialFailed`. */
  reason?: string;
  /** Whether at least one request went to APNs. */
  attempted: boolean;
  /**
   * A failure that may pass if tried again later: APNs answered 429 or 5xx, or no connection
   * could carry the request. A timeout is not transient: APNs may have accepted the push.
   */
  transient?: boolean;
  /** APNs' `retry-after` on a 429/5xx that the transport's own retries did not outwait, ms. */
  retryAfterMs?: number;
  /** APNs' HTTP status and (for 410) timestamp of the answer this result reports. */
  apns?: { status: number; timestamp?: number };
  feedback?: Feedback;
  /** Set when the failure is the credential's: stop sending with it and tell the app owner. */
  credentialError?: CredentialProblem;
}

/** Options of one {@linkcode Relay.sendBatch} call. */
export interface SendBatchOptions {
  /**
   * On `BadDeviceToken`, try the other environment's host once and report the token's real
   * environment as feedback. Default: true. The push CLI turns it off: it answers for exactly
   * the environment it was asked about.
   */
  environmentFallback?: boolean;
}

/** Options of {@linkcode createRelay}. */
export interface RelayOptions {
  /** Redis for the shared provider tokens; required unless `tokenSource` is given. */
  redis?: Redis;
  /** A transport to use, or options to build one (closed by `close()` only if built here). */
  transport?: Transport | TransportOptions;
  /** Clock in epoch ms; default `Date.now`. */
  now?: () => number;
  /** Requests in flight per batch; default 500. */
  concurrency?: number;
  /** Token timing overrides (tests). */
  tokenOptions?: TokenSourceOptions;
  /**
   * Makes the provider-token source of a token credential. Default: one shared through Redis
   * (`redis` above), so every process signs the same token. The push CLI passes an in-memory one.
   */
  tokenSource?: (credential: TokenCredential) => ProviderTokenSource;
}

/** The relay. */
export interface Relay {
  /**
   * Sends `message` to every recipient; returns one result per recipient, in input order.
   * Never throws for APNs answers. After a credential error the rest of the batch is not
   * attempted (failing fast keeps APNs from blocking the key).
   */
  sendBatch(
    app: RelayApp,
    message: RelayMessage,
    recipients: Recipient[],
    options?: SendBatchOptions,
  ): Promise<SendResult[]>;
  /** The underlying transport. */
  readonly transport: Transport;
  /** Closes a transport built by the relay. */
  close(): Promise<void>;
}

/**
 * APNs reasons that mean the credential itself is unusable. `BadCertificateEnvironment` is not
 * one: the certificate may still serve the other environment, so only that recipient fails.
 */
export const CREDENTIAL_REASONS = new Set([
  "InvalidProviderToken",
  "MissingProviderToken",
  "BadCertificate",
  "Forbidden",
  "TooManyProviderTokenUpdates",
]);

const CREDENTIAL_HELP: Record<string, string> = {
  InvalidProviderToken: "APNs rejected the provider token: check the key id, team id and .p8 key",
  MissingProviderToken: "APNs wanted a provider token and got none",
  BadCertificate: "APNs rejected the client certificate",
  Forbidden: "APNs refused the credential",
  TooManyProviderTokenUpdates: "provider tokens were refreshed too often",
  ExpiredProviderToken: "APNs still calls the refreshed provider token expired",
};

const other = (env: ApnsEnvironment): ApnsEnvironment =>
  env === "production" ? "development" : "production";

function isTransport(t: Transport | TransportOptions | undefined): t is Transport {
  return !!t && typeof (t as Transport).send === "function";
}

/** Creates a relay. */
export function createRelay(options: RelayOptions): Relay {
  const owned = !isTransport(options.transport);
  const transport = isTransport(options.transport)
    ? options.transport
    : createTransport(options.transport);
  const concurrency = options.concurrency ?? 500;
  const sources = new Map<string, ProviderTokenSource>();

  function sourceFor(cred: TokenCredential): ProviderTokenSource {
    const key = `${cred.teamId}:${cred.keyId}`;
    let source = sources.get(key);
    if (!source) {
      if (options.tokenSource) source = options.tokenSource(cred);
      else if (options.redis) {
        source = createSharedTokenSource(options.redis, cred, {
          now: options.now,
          ...options.tokenOptions,
        });
      } else throw new Error("createRelay needs redis or tokenSource for token credentials");
      sources.set(key, source);
    }
    return source;
  }

  async function fingerprint(pem: string): Promise<string> {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pem));
    return Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, "0"))
      .join("");
  }

  // The newest certificate seen per bundle id: when a renewed one appears, the old one's
  // connections drain and close (a stale cache still sending with the old one reopens one).
  const newest = new Map<string, { connection: ConnectionCredential; expiresAt: string }>();
  function noteCertificate(bundleId: string, connection: ConnectionCredential, expiresAt: string) {
    const known = newest.get(bundleId);
    if (known?.connection.id === connection.id) return;
    if (known && known.expiresAt > expiresAt) return;
    if (known) transport.retire(known.connection);
    if (newest.size > 10_000) newest.clear();
    newest.set(bundleId, { connection, expiresAt });
  }

  return {
    transport,
    async sendBatch(app, message, recipients, batchOptions = {}) {
      const fallback = batchOptions.environmentFallback ?? true;
      const cred = app.credential;
      const source = cred.kind === "token" ? sourceFor(cred) : undefined;
      const connection: ConnectionCredential = cred.kind === "token"
        ? { kind: "token", id: cred.teamId }
        : {
          kind: "certificate",
          id: cred.summary?.fingerprint ?? await fingerprint(cred.certPem),
          certPem: cred.certPem,
          keyPem: cred.keyPem,
        };
      const certificate = cred.kind === "certificate" ? cred.summary : undefined;
      if (certificate) noteCertificate(app.bundleId, connection, certificate.expiresAt);
      // What the certificate does not allow is refused here, without an APNs request.
      const refusal = (environment: ApnsEnvironment) =>
        certificate
          ? certificateRefusal(certificate, {
            environment,
            topic: message.headers["apns-topic"],
            now: (options.now ?? Date.now)(),
          })
          : null;
      let credentialError: SendResult["credentialError"];
      // The same `bearer …` string for every request while the token is unchanged.
      let lastToken = "";
      let lastBearer = "";
      const bearer = (token: string) =>
        token === lastToken ? lastBearer : (lastBearer = `bearer ${lastToken = token}`);

      async function post(r: Recipient, environment: ApnsEnvironment): Promise<ApnsResponse> {
        let authorization = source ? bearer(await source.current()) : undefined;
        const request = () =>
          transport.send({
            environment,
            deviceToken: r.token,
            headers: message.headers,
            body: message.body,
            credential: connection,
            authorization,
          });
        const first = await request();
        if (first.reason !== "ExpiredProviderToken" || !source || !authorization) return first;
        // One refresh (within the 20-minute rule) and one retry.
        authorization = `bearer ${await source.refreshAfterExpired(authorization.slice(7))}`;
        return await request();
      }

      async function one(r: Recipient): Promise<SendResult> {
        const installationId = r.installationId;
        if (credentialError) {
          return {
            installationId,
            status: "failed",
            reason: credentialError.reason,
            attempted: false,
            credentialError,
          };
        }
        const refused = refusal(r.environment);
        if (refused === "ExpiredCertificate") {
          credentialError ??= {
            reason: refused,
            message: `the APNs certificate expired on ${certificate!.expiresAt}: upload a ` +
              "renewed one (PATCH /v1/apps/:appId certificate)",
          };
          return {
            installationId,
            status: "failed",
            reason: refused,
            attempted: false,
            credentialError,
          };
        }
        if (refused) return { installationId, status: "failed", reason: refused, attempted: false };
        let attempted = false;
        try {
          attempted = true;
          const res = await post(r, r.environment);
          const apns = {
            status: res.status,
            ...(res.timestamp ? { timestamp: res.timestamp } : {}),
          };
          if (res.status === 200) {
            return { installationId, status: "accepted", apnsId: res.apnsId, attempted, apns };
          }
          let feedback: Feedback | undefined;
          if (res.reason === "BadDeviceToken" && fallback && !refusal(other(r.environment))) {
            // Sandbox/production mix-ups are common: try the other host once.
            const retry = await post(r, other(r.environment));
            if (retry.status === 200) {
              return {
                installationId,
                status: "accepted",
                apnsId: retry.apnsId,
                attempted,
                apns: { status: retry.status },
                feedback: { kind: "environment", environment: other(r.environment) },
              };
            } else if (
              retry.reason === "BadDeviceToken" || retry.reason === "DeviceTokenNotForTopic"
            ) {
              feedback = { kind: "bad_token" };
            }
          }
          const failed: SendResult = {
            installationId,
            status: "failed",
            apnsId: res.apnsId,
            reason: res.reason,
            attempted,
            apns,
          };
          if (res.status === 429 || res.status >= 500) failed.transient = true;
          if (res.retryAfterMs !== undefined) failed.retryAfterMs = res.retryAfterMs;
          if (res.reason === "DeviceTokenNotForTopic") feedback = { kind: "bad_token" };
          if (res.status === 410 && res.timestamp !== undefined && res.timestamp > r.registeredAt) {
            feedback = { kind: "unregistered", timestamp: res.timestamp };
          }
          if (feedback) failed.feedback = feedback;
          const reason = res.reason ?? "";
          if (CREDENTIAL_REASONS.has(reason) || reason === "ExpiredProviderToken") {
            failed.credentialError = credentialError ??= {
              reason,
              message: CREDENTIAL_HELP[reason] ?? `APNs refused the credential (${reason})`,
            };
          }
          return failed;
        } catch (error) {
          if (error instanceof ApnsCredentialError) {
            credentialError ??= { reason: error.reason, message: error.message };
            return {
              installationId,
              status: "failed",
              reason: error.reason,
              attempted,
              credentialError,
            };
          }
          if (error instanceof ApnsTransportError) {
            const failed: SendResult = {
              installationId,
              status: "failed",
              reason: error.reason,
              attempted,
            };
            if (error.reason === "ConnectionFailed") failed.transient = true;
            return failed;
          }
          throw error;
        }
      }

      // Workers pull indexes and write each result into its own slot (input order).
      const results = new Array<SendResult>(recipients.length);
      let next = 0;
      const worker = async () => {
        while (next < recipients.length) {
          const index = next++;
          results[index] = await one(recipients[index]);
        }
      };
      const workers = [];
      for (let i = Math.min(concurrency, recipients.length); i > 0; i--) workers.push(worker());
      await Promise.all(workers);
      return results;
    },
    async close() {
      if (owned) await transport.close();
    },
  };
}
