/**
 * The HTTP/2 transport to APNs, on edgepush's own HTTP/2 client over Deno's TLS (./h2/session.ts).
 * Measured against the mock, it costs a fraction of the CPU per notification of `node:http2`
 * (whose compatibility layer was most of the relay's profile) and of Deno's `fetch` (which also
 * stalls on delayed ACKs at ~100 streams in flight); see tests/bench/send_transport_compare.ts.
 *
 * - long-lived connections per (host, credential), up to `connections` of them;
 * - in-flight streams per connection bounded by `maxStreams` and the server's
 *   SETTINGS_MAX_CONCURRENT_STREAMS;
 * - GOAWAY, REFUSED_STREAM, resets and dropped connections → retried on a fresh connection;
 * - 429 and 5xx → backoff honouring `retry-after`, bounded attempts;
 * - a per-request timeout, never retried (APNs may have delivered it);
 * - a client certificate whose TLS handshake APNs refuses on every attempt → a credential error;
 * - `retire(credential)` drains a replaced certificate's connections and closes them;
 * - idle connections PINGed and, after `idleCloseMs`, closed by us (./connection_health.ts).
 *
 * This file holds the attempt loop (which failures are retried, how long to wait, when to give
 * up); the pools are ./connection_pool.ts and one request's stream is ./stream_exchange.ts.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { type ApnsResponse, parseAnswer, retryDelay } from "./answer.ts";
import { DeadlineSweep } from "../deadline_sweep.ts";
import { watchConnections } from "./connection_health.ts";
import { type ConnectionCredential, createConnectionPools } from "./connection_pool.ts";
import { ApnsCredentialError } from "./credential_error.ts";
import { type ApnsEnvironment, APPLE_HOSTS, bareHostPort } from "./hosts.ts";
import { createStreamExchange, type Exchange } from "./stream_exchange.ts";

export type { ApnsResponse, ConnectionCredential };
export { type ApnsEnvironment, APPLE_HOSTS, bareHostPort };

/** One notification to one device. */
export interface ApnsRequest {
  environment: ApnsEnvironment;
  /** Hex device token. */
  deviceToken: string;
  /** `apns-*` headers (see buildHeaders). */
  headers: Record<string, string>;
  /** JSON payload. */
  body: string;
  credential: ConnectionCredential;
  /** `bearer <jwt>` for token auth; omitted for certificate auth. */
  authorization?: string;
}

/** Options of {@linkcode createTransport}. */
export interface TransportOptions {
  /** `host[:port]` per environment; default {@linkcode APPLE_HOSTS}. */
  hosts?: Partial<Record<ApnsEnvironment, string>>;
  /**
   * Extra CA (PEM), e.g. a mock's, trusted for hosts other than Apple's (which are always
   * verified against the system's roots); default none.
   */
  caPem?: string;
  /** Connections per (host, credential); default 1 (one session was cheapest per push). */
  connections?: number;
  /** In-flight streams per connection (the server's limit also applies); default 500. */
  maxStreams?: number;
  /** Per-request timeout in ms, including waiting for a free stream; default 10,000. */
  timeoutMs?: number;
  /** Attempts per request across retries; default 4. */
  maxAttempts?: number;
  /** First backoff step in ms (doubles per attempt, full jitter); default 100. */
  backoffMs?: number;
  /** Longest `retry-after` honoured; a longer one returns the 429/503 as is; default 30,000. */
  maxRetryAfterMs?: number;
  /** Idle time in ms before a connection is PINGed (and between PINGs); default 60,000. */
  pingAfterMs?: number;
  /**
   * Idle time in ms after which a connection is closed, before APNs drops it (`0` = never);
   * default 600,000 (`APNS_IDLE_CLOSE_SECONDS`).
   */
  idleCloseMs?: number;
  /** How long a PING may go unanswered before the connection is replaced, ms; default 10,000. */
  pingTimeoutMs?: number;
  /**
   * Time for deadlines, idleness and the waits between attempts (backoff, `retry-after`);
   * default the system clock. Tests pass a manual one so retries happen without real waits.
   */
  clock?: Clock;
}

/** The transport failed to get an answer from APNs. */
export class ApnsTransportError extends Error {
  override name = "ApnsTransportError";
  /** `Timeout` or `ConnectionFailed`. */
  readonly reason: "Timeout" | "ConnectionFailed";
  /** True when the request never left this process (no stream came free): APNs never saw it. */
  readonly unsent: boolean;
  constructor(
    reason: "Timeout" | "ConnectionFailed",
    message: string,
    options?: ErrorOptions & { unsent?: boolean },
  ) {
    super(message, options);
    this.reason = reason;
    this.unsent = options?.unsent ?? false;
  }
}

/** An HTTP/2 client for APNs. */
export interface Transport {
  /**
   * Sends one notification and returns APNs' answer (after retries for 429/5xx/connection
   * faults; a final 429/5xx is returned, not thrown).
   *
   * @throws {ApnsTransportError} on timeout or when no connection could carry the request.
   */
  send(request: ApnsRequest): Promise<ApnsResponse>;
  /** Counters for tests and metrics. */
  readonly stats: {
    connectionsOpened: number;
    retries: number;
    /** Connections closed after `idleCloseMs` without a request. */
    idleClosed: number;
    /** Connections replaced because a PING failed or went unanswered. */
    pingFailed: number;
  };
  /**
   * Stops opening streams on `credential`'s connections: those in use close once their streams
   * end, idle ones at once. A later request with it opens a fresh connection. Used when an
   * app's certificate is replaced, so that the old one stops being presented to APNs.
   */
  retire(credential: ConnectionCredential): void;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** Creates the transport. */
export function createTransport(options: TransportOptions = {}): Transport {
  const given = { ...APPLE_HOSTS, ...options.hosts };
  const hosts = {
    production: bareHostPort(given.production),
    development: bareHostPort(given.development),
  };
  const connections = options.connections ?? 1;
  const maxStreams = options.maxStreams ?? 500;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxAttempts = options.maxAttempts ?? 4;
  const backoffMs = options.backoffMs ?? 100;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  // The extra CA vouches only for hosts edgepush was pointed at (a mock, a proxy): Apple's own
  // hosts are always verified against the system's roots. Node's `ca` replaces those roots, and
  // reading them back (`tls.rootCertificates`) would need --allow-sys, so the two never mix.
  const appleHosts = new Set(Object.values(APPLE_HOSTS).map(bareHostPort));
  const caFor = (host: string) =>
    options.caPem && !appleHosts.has(host) ? [options.caPem] : undefined;
  const sleeps = new Set<ReturnType<typeof setTimeout>>();
  const now = options.clock ? () => options.clock!.now() : Date.now;
  const wait = options.clock ? (ms: number) => options.clock!.sleep(ms) : sleep;
  const stats = { connectionsOpened: 0, retries: 0, idleClosed: 0, pingFailed: 0 };
  // One sweep for the deadlines of requests in flight and of those waiting for a stream.
  const sweep = new DeadlineSweep(Math.min(250, Math.max(5, Math.floor(timeoutMs / 20))), now);
  const pools = createConnectionPools({ connections, maxStreams, caFor, now, stats, sweep });
  const health = watchConnections(pools.all, {
    pingAfterMs: options.pingAfterMs,
    idleCloseMs: options.idleCloseMs,
    pingTimeoutMs: options.pingTimeoutMs,
    stats,
    now,
  });
  const exchange = createStreamExchange(sweep);

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        sleeps.delete(timer);
        resolve();
      }, ms);
      sleeps.add(timer);
    });
  }

  return {
    stats,
    async send(req) {
      if (pools.closed) {
        throw new ApnsTransportError("ConnectionFailed", "the transport is closed");
      }
      const host = hosts[req.environment];
      const pool = pools.poolFor(host, req.credential);
      const deadline = now() + timeoutMs;
      let lastError: unknown;
      // Connections closed before the server's SETTINGS: with a client certificate, that is
      // APNs refusing the handshake (TLS 1.3 reports it only by closing the connection).
      let refusedHandshakes = 0;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        if (attempt > 1) stats.retries++;
        // A free stream is the common case: take it without an extra promise.
        const conn = (!pools.closed && pools.pick(pool, host, req.credential)) ||
          await pools.acquire(pool, host, req.credential, deadline);
        if (!conn) {
          throw new ApnsTransportError("Timeout", `no APNs stream free within ${timeoutMs} ms`, {
            unsent: true,
          });
        }
        let result: Exchange;
        try {
          result = await exchange(conn.session, req, deadline);
        } finally {
          pools.release(pool, conn);
        }
        if (result.kind === "timeout") {
          throw new ApnsTransportError("Timeout", `APNs did not answer within ${timeoutMs} ms`);
        }
        if (result.kind === "retry") {
          lastError = result.error;
          // The connection may be dead without having said so yet: retire it, so that the pool
          // opens a fresh one instead of handing out a dead session until restart.
          if (conn.session.destroyed || conn.session.closed) {
            conn.retire();
            if (!conn.settled && req.credential.kind === "certificate") refusedHandshakes++;
          }
          if (attempt > 1) await wait(retryDelay(attempt - 1, undefined, backoffMs, now()));
          continue;
        }
        const { status, headers, body } = result;
        if ((status === 429 || status >= 500) && attempt < maxAttempts) {
          const delay = retryDelay(attempt, headers["retry-after"], backoffMs, now());
          if (delay <= maxRetryAfterMs && now() + delay < deadline) {
            await wait(delay);
            continue;
          }
        }
        return parseAnswer(status, headers, body, now());
      }
      if (refusedHandshakes === maxAttempts) {
        throw new ApnsCredentialError(
          "BadCertificate",
          `${host} refused the TLS handshake with the client certificate: it is not an APNs ` +
            "certificate Apple issued, or it was revoked or has expired",
        );
      }
      throw new ApnsTransportError(
        "ConnectionFailed",
        `no connection to ${host} carried the request after ${maxAttempts} attempts`,
        { cause: lastError },
      );
    },
    retire(credential) {
      pools.retire(credential);
    },
    async close() {
      for (const timer of sleeps) clearTimeout(timer);
      sweep.stop();
      health.stop();
      await pools.close();
    },
  };
}
