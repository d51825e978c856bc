/**
 * The HTTP/2 transport to APNs, on `node:http2`. Measured against the mock, it beat Deno's
 * `fetch` (which turns TCP_NODELAY off and stalls on delayed ACKs at ~100 streams in flight) in
 * both throughput and CPU per notification; see tests/bench/send_transport_compare.ts.
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
 * @module
 */
import type { Clock } from "../clock.ts";
import http2 from "node:http2";
import { type ApnsResponse, MAX_ANSWER_BYTES, parseAnswer, retryDelay } from "./answer.ts";
import { type Deadline, DeadlineSweep } from "./deadline_sweep.ts";
import { watchConnections, type WatchedConnection } from "./connection_health.ts";
import { ApnsCredentialError } from "./credential_error.ts";

export type { ApnsResponse };

/** An APNs environment. */
export type ApnsEnvironment = "production" | "development";

/** Apple's hosts. */
export const APPLE_HOSTS: Record<ApnsEnvironment, string> = {
  production: "api.push.apple.com:443",
  development: "api.sandbox.push.apple.com:443",
};

/**
 * `host[:port]` of an APNs host, forgiving an `https://` prefix and a trailing slash: that is
 * how a mock's address is usually copied.
 */
export function bareHostPort(host: string): string {
  return host.replace(/^https:\/\//i, "").replace(/\/$/, "");
}

/**
 * What a connection authenticates with. Token-auth connections carry no identity (the JWT goes
 * in each request) but Apple wants one team per connection, so `id` should be the team id.
 * Certificate connections carry the client certificate; `id` names it (e.g. its fingerprint).
 */
export type ConnectionCredential =
  | { kind: "token"; id: string }
  | { kind: "certificate"; id: string; certPem: string; keyPem: string };

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

interface Connection extends WatchedConnection {
  session: http2.ClientHttp2Session;
  inflight: number;
  limit: number;
  usable: boolean;
  /** Whether the server's SETTINGS arrived, i.e. it completed the TLS handshake. */
  settled: boolean;
  /** Takes it out of the pool for good (new streams go elsewhere); closes it once idle. */
  retire(): void;
}

interface Pool {
  connections: Connection[];
  waiters: Array<() => void>;
}

const EMPTY = new Uint8Array(0);

type Exchange =
  | { kind: "response"; status: number; headers: http2.IncomingHttpHeaders; body: Uint8Array }
  | { kind: "retry"; error: unknown }
  | { kind: "timeout" };

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
  const pools = new Map<string, Pool>();
  const sleeps = new Set<ReturnType<typeof setTimeout>>();
  const now = options.clock ? () => options.clock!.now() : Date.now;
  const wait = options.clock ? (ms: number) => options.clock!.sleep(ms) : sleep;
  const stats = { connectionsOpened: 0, retries: 0, idleClosed: 0, pingFailed: 0 };
  let closed = false;

  // The pool lookup key is built once per (credential object, host), not per request.
  const poolCache = new WeakMap<ConnectionCredential, Map<string, Pool>>();

  function poolFor(host: string, credential: ConnectionCredential): Pool {
    let byHost = poolCache.get(credential);
    if (!byHost) poolCache.set(credential, byHost = new Map());
    let pool = byHost.get(host);
    if (!pool) {
      // Pools live until close(), after which send() refuses, so a cached pool stays valid.
      const key = `${host}|${credential.kind}:${credential.id}`;
      pool = pools.get(key);
      if (!pool) pools.set(key, pool = { connections: [], waiters: [] });
      byHost.set(host, pool);
    }
    return pool;
  }

  function wake(pool: Pool): void {
    const waiters = pool.waiters.splice(0);
    for (const w of waiters) w();
  }

  function open(pool: Pool, host: string, credential: ConnectionCredential): Connection {
    const session = http2.connect(`https://${host}`, {
      ca: caFor(host),
      ...(credential.kind === "certificate"
        ? { cert: credential.certPem, key: credential.keyPem }
        : {}),
    });
    stats.connectionsOpened++;
    const retire = () => {
      if (!conn.usable) return;
      conn.usable = false;
      pool.connections = pool.connections.filter((c) => c !== conn);
      wake(pool);
    };
    const conn: Connection = {
      session,
      inflight: 0,
      limit: maxStreams,
      usable: true,
      settled: false,
      lastUsed: now(),
      retire,
    };
    session.on("remoteSettings", (settings) => {
      conn.settled = true;
      conn.limit = Math.max(1, Math.min(maxStreams, settings.maxConcurrentStreams ?? maxStreams));
      wake(pool);
    });
    session.on("goaway", retire);
    session.on("close", retire);
    session.on("error", retire);
    session.on("frameError", () => {});
    pool.connections.push(conn);
    return conn;
  }

  /** The least-loaded connection with a free stream (opening one if allowed), or undefined. */
  function pick(
    pool: Pool,
    host: string,
    credential: ConnectionCredential,
  ): Connection | undefined {
    let best: Connection | undefined;
    for (const c of pool.connections) {
      if (c.usable && c.inflight < c.limit && (!best || c.inflight < best.inflight)) best = c;
    }
    if (!best || (best.inflight > 0 && pool.connections.length < connections)) {
      if (pool.connections.length < connections) best = open(pool, host, credential);
    }
    if (best) {
      best.inflight++;
      best.lastUsed = now();
    }
    return best;
  }

  async function acquire(
    pool: Pool,
    host: string,
    credential: ConnectionCredential,
    deadline: number,
  ): Promise<Connection | undefined> {
    while (!closed) {
      const best = pick(pool, host, credential);
      if (best) return best;
      const left = deadline - now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        pool.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return undefined;
  }

  function release(pool: Pool, conn: Connection): void {
    conn.inflight--;
    conn.lastUsed = now();
    // Hand the freed stream to one waiter; others stay queued (no thundering herd).
    pool.waiters.shift()?.();
    if (!conn.usable && conn.inflight === 0) conn.session.close();
  }

  const health = watchConnections(() => [...pools.values()].flatMap((p) => p.connections), {
    pingAfterMs: options.pingAfterMs,
    idleCloseMs: options.idleCloseMs,
    pingTimeoutMs: options.pingTimeoutMs,
    stats,
    now,
  });
  const sweep = new DeadlineSweep(Math.min(250, Math.max(5, Math.floor(timeoutMs / 20))), now);

  // The header block is the same for every recipient of a message: it is built once per
  // (headers object, authorization) and only `:path` changes per request.
  let templates = new WeakMap<Record<string, string>, Map<string, http2.OutgoingHttpHeaders>>();
  let templateCount = 0;

  function template(req: ApnsRequest): http2.OutgoingHttpHeaders {
    let byAuth = templates.get(req.headers);
    if (!byAuth) templates.set(req.headers, byAuth = new Map());
    const auth = req.authorization ?? "";
    let headers = byAuth.get(auth);
    if (!headers) {
      // Bounded: a long-lived transport sees a new token every ~50 minutes per credential.
      if (++templateCount > 1000) {
        templates = new WeakMap();
        templateCount = 1;
        templates.set(req.headers, byAuth = new Map());
      }
      headers = { ":method": "POST", ":path": "", ...req.headers };
      if (req.authorization) headers.authorization = req.authorization;
      byAuth.set(auth, headers);
    }
    return headers;
  }

  function exchange(conn: Connection, req: ApnsRequest, deadline: number): Promise<Exchange> {
    return new Promise((resolve) => {
      let stream: http2.ClientHttp2Stream;
      const headers = template(req);
      headers[":path"] = `/3/device/${req.deviceToken}`;
      try {
        // request() copies the headers before returning, so the template can be reused.
        stream = conn.session.request(headers);
      } catch (error) {
        return resolve({ kind: "retry", error });
      }
      let response: http2.IncomingHttpHeaders | undefined;
      const chunks: Uint8Array[] = [];
      let size = 0;
      let timedOut = false;
      const timer: Deadline = {
        deadline,
        expire() {
          timedOut = true;
          stream.close(http2.constants.NGHTTP2_CANCEL);
        },
      };
      sweep.watch(timer);
      stream.on("response", (h) => (response = h));
      stream.on("data", (chunk: Uint8Array) => {
        // APNs' body is untrusted: keep at most MAX_ANSWER_BYTES of it.
        if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
        size += chunk.byteLength;
      });
      stream.on("error", () => {});
      stream.on("close", () => {
        sweep.unwatch(timer);
        if (timedOut) return resolve({ kind: "timeout" });
        if (response && stream.rstCode === http2.constants.NGHTTP2_NO_ERROR) {
          const status = Number(response[":status"]);
          const body = chunks.length === 0
            ? EMPTY
            : chunks.length === 1
            ? chunks[0]
            : Buffer.concat(chunks);
          return resolve({ kind: "response", status, headers: response, body });
        }
        // No complete answer: refused, reset, GOAWAY'd or the connection died. APNs has not
        // accepted the notification, so another connection may carry it.
        resolve({ kind: "retry", error: new Error(`stream closed (rst ${stream.rstCode})`) });
      });
      stream.end(req.body);
    });
  }

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
      if (closed) throw new ApnsTransportError("ConnectionFailed", "the transport is closed");
      const host = hosts[req.environment];
      const pool = poolFor(host, req.credential);
      const deadline = now() + timeoutMs;
      let lastError: unknown;
      // Connections closed before the server's SETTINGS: with a client certificate, that is
      // APNs refusing the handshake (TLS 1.3 reports it only by closing the connection).
      let refusedHandshakes = 0;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        if (attempt > 1) stats.retries++;
        // A free stream is the common case: take it without an extra promise.
        const conn = (!closed && pick(pool, host, req.credential)) ||
          await acquire(pool, host, req.credential, deadline);
        if (!conn) {
          throw new ApnsTransportError("Timeout", `no APNs stream free within ${timeoutMs} ms`, {
            unsent: true,
          });
        }
        let result: Exchange;
        try {
          result = await exchange(conn, req, deadline);
        } finally {
          release(pool, conn);
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
      const suffix = `|${credential.kind}:${credential.id}`;
      for (const [key, pool] of pools) {
        if (!key.endsWith(suffix)) continue;
        for (const conn of [...pool.connections]) {
          conn.retire();
          if (conn.inflight === 0) conn.session.close();
        }
      }
    },
    async close() {
      closed = true;
      for (const timer of sleeps) clearTimeout(timer);
      sweep.stop();
      health.stop();
      const all = [...pools.values()].flatMap((p) => {
        wake(p);
        return p.connections;
      });
      pools.clear();
      await Promise.all(all.map((c) =>
        new Promise<void>((resolve) => {
          if (c.session.closed || c.session.destroyed) return resolve();
          // A peer that never finishes its streams must not hold close() forever.
          const timer = setTimeout(() => c.session.destroy(), 1000);
          c.session.close(() => {
            clearTimeout(timer);
            resolve();
          });
        })
      ));
    },
  };
}
