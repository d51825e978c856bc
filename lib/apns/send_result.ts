/**
 * What became of one recipient of a relayed push: APNs' answer (or the lack of one) read as a
 * result, with what the registry should learn (unregistered, bad token, corrected environment),
 * whether trying again later may help, and whether the credential itself was refused.
 *
 * @module
 */
import type { ApnsResponse } from "./answer.ts";
import { ApnsCredentialError, type CredentialProblem } from "./credential_error.ts";
import type { ApnsEnvironment } from "./hosts.ts";
import { ApnsTransportError } from "./transport.ts";

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

/** APNs accepted the push. */
export function accepted(r: Recipient, res: ApnsResponse): SendResult {
  return {
    installationId: r.installationId,
    status: "accepted",
    apnsId: res.apnsId,
    attempted: true,
    apns: { status: res.status },
  };
}

/**
 * APNs refused the push: its reason, what the registry should learn, and whether to retry.
 * `badToken` says the token is bad in both environments (the other host refused it too).
 */
export function refused(r: Recipient, res: ApnsResponse, badToken: boolean): SendResult {
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
export function certificateExpired(r: Recipient, expiresAt: string): SendResult {
  return refusedEarlier(r, {
    reason: "ExpiredCertificate",
    message: `the APNs certificate expired on ${expiresAt}: upload a renewed one ` +
      "(PATCH /v1/apps/:appId certificate)",
  });
}

/**
 * No answer to give: the credential failed before sending, or the transport gave up.
 * @throws whatever `error` is when it is neither of those (a bug, not an APNs outcome).
 */
export function failedToAsk(r: Recipient, error: unknown): SendResult {
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
export function refusedEarlier(r: Recipient, credentialError: CredentialProblem): SendResult {
  return {
    installationId: r.installationId,
    status: "failed",
    reason: credentialError.reason,
    attempted: false,
    credentialError,
  };
}
