/**
 * The high-level sender: one message to a batch of recipients of one app, with APNs' answers
 * turned into per-recipient results and registry feedback (unregistered, bad token, corrected
 * environment). Used by sends, test sessions and anything else that pushes.
 *
 * This file runs the batch (provider-token sources, retiring a renewed certificate's
 * connections, bounded concurrency, failing fast after a credential error); one recipient's
 * requests are ./recipient_send.ts and reading the answers is ./send_result.ts.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { type AppCredential, connectionFor } from "./app_credential.ts";
import { certificateRefusal } from "./certificate.ts";
import type { CredentialProblem } from "./credential_error.ts";
import {
  createSharedTokenSource,
  type ProviderTokenSource,
  type TokenCredential,
  type TokenSourceOptions,
} from "./jwt.ts";
import { type Checks, poster, sendOne } from "./recipient_send.ts";
import { type Recipient, refusedEarlier, type SendResult } from "./send_result.ts";
import {
  type ConnectionCredential,
  createTransport,
  type Transport,
  type TransportOptions,
} from "./transport.ts";

export type { AppCredential, Recipient, SendResult };
export { connectionFor };
export { CREDENTIAL_REASONS, type Feedback } from "./send_result.ts";

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
      // At most `concurrency` loops pull indexes and write each result into its own slot: a
      // loop per request in flight, rather than a promise per recipient.
      const results = new Array<SendResult>(recipients.length);
      let next = 0;
      const loop = async () => {
        while (next < recipients.length) {
          const index = next++;
          const r = recipients[index];
          const result = credentialError
            ? refusedEarlier(r, credentialError)
            : await sendOne(r, post, checks);
          credentialError ??= result.credentialError;
          onResult?.(index, result);
          results[index] = result;
        }
      };
      const loops = [];
      for (let i = Math.min(concurrency, recipients.length); i > 0; i--) loops.push(loop());
      await Promise.all(loops);
      return results;
    },
    async close() {
      if (owned) await transport.close();
    },
  };
}
