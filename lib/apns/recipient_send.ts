/**
 * One recipient's push within a batch: what the certificate does not allow is refused without
 * a request; token auth carries the provider token (refreshed once when APNs calls it
 * expired); a `BadDeviceToken` is tried once on the other environment's host, since sandbox and
 * production tokens are often mixed up. The answer is read by ./send_result.ts.
 *
 * @module
 */
import type { certificateRefusal } from "./certificate.ts";
import type { ConnectionCredential } from "./connection_pool.ts";
import type { ApnsEnvironment } from "./hosts.ts";
import type { ProviderTokenSource } from "./jwt.ts";
import {
  accepted,
  certificateExpired,
  failedToAsk,
  type Recipient,
  refused,
  type SendResult,
} from "./send_result.ts";
import type { ApnsRequest, ApnsResponse, Transport } from "./transport.ts";

/** Posts the batch's message to one recipient in one environment. */
export type Post = (r: Recipient, environment: ApnsEnvironment) => Promise<ApnsResponse>;

/** What one batch checks per recipient before and after asking APNs. */
export interface Checks {
  /** Try the other host on `BadDeviceToken`. */
  fallback: boolean;
  /** Why the batch's certificate cannot serve an environment, or null (always null for tokens). */
  refusal(environment: ApnsEnvironment): ReturnType<typeof certificateRefusal>;
  /** The batch certificate's expiry, for the message of an `ExpiredCertificate` refusal. */
  certificateExpiresAt?: string;
}

/**
 * Builds the request function of one batch: the message, the connection credential and, for
 * token auth, the provider token (refreshed once on `ExpiredProviderToken`, then retried).
 */
export function poster(
  transport: Transport,
  message: Pick<ApnsRequest, "body" | "headers">,
  connection: ConnectionCredential,
  { source }: { source?: ProviderTokenSource },
): Post {
  // The same `bearer …` string for every request while the token is unchanged.
  let lastToken = "";
  let lastBearer = "";
  const bearer = (token: string) =>
    token === lastToken ? lastBearer : (lastBearer = `bearer ${lastToken = token}`);
  const request = (r: Recipient, environment: ApnsEnvironment, authorization?: string) =>
    transport.send({
      environment,
      deviceToken: r.token,
      headers: message.headers,
      body: message.body,
      credential: connection,
      authorization,
    });
  // With a token: one refresh (within the 20-minute rule) and one retry when APNs calls it expired.
  const authorized = (
    tokens: ProviderTokenSource,
    r: Recipient,
    environment: ApnsEnvironment,
    authorization: string,
  ) =>
    request(r, environment, authorization).then((first) =>
      first.reason === "ExpiredProviderToken"
        ? tokens.refreshAfterExpired(authorization.slice(7))
          .then((fresh) => request(r, environment, `bearer ${fresh}`))
        : first
    );
  // No async function of its own on the common path (a certificate, or a token that needs no
  // refresh): each notification already waits through sendOne and the transport.
  return (r, environment) => {
    if (!source) return request(r, environment);
    const token = source.cached();
    if (token !== undefined) return authorized(source, r, environment, bearer(token));
    return source.current().then((fresh) => authorized(source, r, environment, bearer(fresh)));
  };
}

const other = (env: ApnsEnvironment): ApnsEnvironment =>
  env === "production" ? "development" : "production";

/** One recipient: APNs' answer (and the other host's, on BadDeviceToken) as a result. */
export async function sendOne(r: Recipient, post: Post, checks: Checks): Promise<SendResult> {
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
