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
  /**
   * Called with each recipient's result as soon as it is known (before the batch ends), with
   * the recipient's index in the input. Default: none.
   */
  onResult?: (index: number, result: SendResult) => void;
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
  const now = options.now ?? Date.now;
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
      const cred = app.credential;
      const connection = await connectionFor(cred);
      const certificate = cred.kind === "certificate" ? cred.summary : undefined;
      if (certificate) noteCertificate(app.bundleId, connection, certificate.expiresAt);
      const post = poster(transport, message, connection, {
        source: cred.kind === "token" ? sourceFor(cred) : undefined,
      });
      const checks: Checks = {
        fallback: batchOptions.environmentFallback ?? true,
        // What the certificate does not allow is refused here, without an APNs request.
        refusal: (environment) =>
          certificate
            ? certificateRefusal(certificate, {
              environment,
              topic: message.headers["apns-topic"],
              now: now(),
            })
            : null,
        certificateExpiresAt: certificate?.expiresAt,
      };
      // After a credential error the rest is not attempted (APNs could block the key).
      let credentialError: CredentialProblem | undefined;
      const onResult = batchOptions.onResult;
      return await inOrder(recipients, concurrency, async (r, index) => {
        const result = credentialError
          ? refusedEarlier(r, credentialError)
          : await sendOne(r, post, checks);
        credentialError ??= result.credentialError;
        onResult?.(index, result);
        return result;
      });
    },
    async close() {
      if (owned) await transport.close();
    },
  };
}

/**
 * The transport credential for an app credential: token auth shares one connection pool per
 * team; a certificate gets its own pool (mTLS), keyed by the certificate's fingerprint.
 */
export async function connectionFor(cred: AppCredential): Promise<ConnectionCredential> {
  if (cred.kind === "token") return { kind: "token", id: cred.teamId };
  return {
    kind: "certificate",
    id: cred.summary?.fingerprint ?? await fingerprint(cred.certPem),
    certPem: cred.certPem,
    keyPem: cred.keyPem,
  };
}

async function fingerprint(pem: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pem));
  return Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Posts the message to one recipient in one environment. */
type Post = (r: Recipient, environment: ApnsEnvironment) => Promise<ApnsResponse>;

/** What one batch checks per recipient before and after asking APNs. */
interface Checks {
  /** Try the other host on `BadDeviceToken`. */
  fallback: boolean;
  /** Why the batch's certificate cannot serve an environment, or null (always null for tokens). */
  refusal(environment: ApnsEnvironment): ReturnType<typeof certificateRefusal>;
  certificateExpiresAt?: string;
}

/**
 * Builds the request function of one batch: the message, the connection credential and, for
 * token auth, the provider token (refreshed once on `ExpiredProviderToken`, then retried).
 */
function poster(
  transport: Transport,
  message: RelayMessage,
  connection: ConnectionCredential,
  { source }: { source?: ProviderTokenSource },
): Post {
  // The same `bearer …` string for every request while the token is unchanged.
  let lastToken = "";
  let lastBearer = "";
  const bearer = (token: string) =>
    token === lastToken ? lastBearer : (lastBearer = `bearer ${lastToken = token}`);
  return async (r, environment) => {
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
  };
}

/** One recipient: APNs' answer (and the other host's, on BadDeviceToken) as a result. */
async function sendOne(r: Recipient, post: Post, checks: Checks): Promise<SendResult> {
  const refusal = checks.refusal(r.environment);
  if (refusal === "ExpiredCertificate") return certificateExpired(r, checks.certificateExpiresAt!);
  if (refusal) {
    return {
      installationId: r.installationId,
      status: "failed",
      reason: refusal,
      attempted: false,
    };
  }
  try {
    const res = await post(r, r.environment);
    if (res.status === 200) return accepted(r, res);
    if (
      res.reason === "BadDeviceToken" && checks.fallback && !checks.refusal(other(r.environment))
    ) {
      // Sandbox/production mix-ups are common: try the other host once.
      const retry = await post(r, other(r.environment));
      if (retry.status === 200) {
        return {
          ...accepted(r, retry),
          feedback: { kind: "environment", environment: other(r.environment) },
        };
      }
      const bad = retry.reason === "BadDeviceToken" || retry.reason === "DeviceTokenNotForTopic";
      return refused(r, res, bad);
    }
    return refused(r, res, false);
  } catch (error) {
    return failedToAsk(r, error);
  }
}

function accepted(r: Recipient, res: ApnsResponse): SendResult {
  return {
    installationId: r.installationId,
    status: "accepted",
    apnsId: res.apnsId,
    attempted: true,
    apns: { status: res.status },
  };
}

/** APNs refused the push: its reason, what the registry should learn, and whether to retry. */
function refused(r: Recipient, res: ApnsResponse, badToken: boolean): SendResult {
  const failed: SendResult = {
    installationId: r.installationId,
    status: "failed",
    apnsId: res.apnsId,
    reason: res.reason,
    attempted: true,
    apns: { status: res.status, ...(res.timestamp ? { timestamp: res.timestamp } : {}) },
  };
  if (res.status === 429 || res.status >= 500) failed.transient = true;
  if (res.retryAfterMs !== undefined) failed.retryAfterMs = res.retryAfterMs;
  if (badToken || res.reason === "DeviceTokenNotForTopic") failed.feedback = { kind: "bad_token" };
  if (res.status === 410 && res.timestamp !== undefined && res.timestamp > r.registeredAt) {
    failed.feedback = { kind: "unregistered", timestamp: res.timestamp };
  }
  const reason = res.reason ?? "";
  if (CREDENTIAL_REASONS.has(reason) || reason === "ExpiredProviderToken") {
    failed.credentialError = {
      reason,
      message: CREDENTIAL_HELP[reason] ?? `APNs refused the credential (${reason})`,
    };
  }
  return failed;
}

/** The certificate's expiry passed: a credential error, found before any request. */
function certificateExpired(r: Recipient, expiresAt: string): SendResult {
  const credentialError = {
    reason: "ExpiredCertificate",
    message: `the APNs certificate expired on ${expiresAt}: upload a renewed one ` +
      "(PATCH /v1/apps/:appId certificate)",
  };
  return {
    installationId: r.installationId,
    status: "failed",
    reason: credentialError.reason,
    attempted: false,
    credentialError,
  };
}

/** No answer to give: the credential failed before sending, or the transport gave up. */
function failedToAsk(r: Recipient, error: unknown): SendResult {
  const installationId = r.installationId;
  if (error instanceof ApnsCredentialError) {
    const credentialError = { reason: error.reason, message: error.message };
    return {
      installationId,
      status: "failed",
      reason: error.reason,
      attempted: true,
      credentialError,
    };
  }
  if (error instanceof ApnsTransportError) {
    // A request that never left the process (no stream came free in time) was not an attempt,
    // and a later round may well find a stream: retry it like a connection failure.
    const failed: SendResult = {
      installationId,
      status: "failed",
      reason: error.reason,
      attempted: !error.unsent,
    };
    if (error.reason === "ConnectionFailed" || error.unsent) failed.transient = true;
    return failed;
  }
  throw error;
}

/** A recipient not attempted because the batch's credential was already refused. */
function refusedEarlier(r: Recipient, credentialError: CredentialProblem): SendResult {
  return {
    installationId: r.installationId,
    status: "failed",
    reason: credentialError.reason,
    attempted: false,
    credentialError,
  };
}

/** Runs `fn` over `items` with at most `concurrency` at once; results in input order. */
async function inOrder<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  // Workers pull indexes and write each result into its own slot.
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  const workers = [];
  for (let i = Math.min(concurrency, items.length); i > 0; i--) workers.push(worker());
  await Promise.all(workers);
  return results;
}
