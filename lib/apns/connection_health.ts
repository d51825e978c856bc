/**
 * Keeps idle HTTP/2 connections to APNs honest. A connection without a request for `pingAfterMs`
 * is checked with a PING (one that fails or goes unanswered is retired and destroyed, so a
 * connection a NAT or load balancer silently dropped is not handed the next push); one idle for
 * `idleCloseMs` is closed by us, before APNs sends its own idle GOAWAY, and the next push opens a
 * fresh one.
 *
 * @module
 */
import type { H2Session } from "./h2/session.ts";

/** What the health check needs of a pooled connection. */
export interface WatchedConnection {
  session: H2Session;
  /** Streams in flight; only a connection with none is idle. */
  inflight: number;
  /** Still handed out for new streams. */
  usable: boolean;
  /** When a stream last started or ended (epoch ms). */
  lastUsed: number;
  /** When the last PING went out (epoch ms), if any. */
  lastPing?: number;
  /** Takes the connection out of its pool. */
  retire(): void;
}

/** Options of {@linkcode watchConnections}. */
export interface ConnectionHealthOptions {
  /** Idle time before a PING, and between PINGs, in ms; `0` = never. Default: `60_000`. */
  pingAfterMs?: number;
  /** Idle time after which the connection is closed, in ms; `0` = never. Default: `600_000`. */
  idleCloseMs?: number;
  /** How long a PING may go unanswered, in ms. Default: `10_000`. */
  pingTimeoutMs?: number;
  /** Clock in epoch ms. Default: `Date.now`. */
  now?: () => number;
  /** Counters to bump: connections closed for idleness, PINGs failed or unanswered. */
  stats?: { idleClosed: number; pingFailed: number };
}

/** A running health check. */
export interface ConnectionHealth {
  /** One pass over the connections now (the timer calls it; tests may too). */
  check(): void;
  /** Stops the timer. */
  stop(): void;
}

/**
 * Watches the connections `list` returns, on a timer that never keeps the process alive.
 */
export function watchConnections(
  list: () => Iterable<WatchedConnection>,
  options: ConnectionHealthOptions = {},
): ConnectionHealth {
  const pingAfterMs = options.pingAfterMs ?? 60_000;
  const idleCloseMs = options.idleCloseMs ?? 600_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const stats = options.stats ?? { idleClosed: 0, pingFailed: 0 };

  function ping(conn: WatchedConnection, at: number) {
    conn.lastPing = at;
    const fail = () => {
      if (!conn.usable && conn.session.destroyed) return;
      stats.pingFailed++;
      conn.retire();
      conn.session.destroy();
    };
    const timer = setTimeout(fail, pingTimeoutMs);
    Deno.unrefTimer(timer);
    try {
      const sent = conn.session.ping((answered) => {
        clearTimeout(timer);
        if (!answered) fail();
      });
      if (!sent) {
        clearTimeout(timer);
        fail();
      }
    } catch {
      clearTimeout(timer);
      fail();
    }
  }

  function check() {
    const at = now();
    for (const conn of [...list()]) {
      if (!conn.usable || conn.inflight > 0 || conn.session.closed || conn.session.destroyed) {
        continue;
      }
      const idle = at - conn.lastUsed;
      if (idleCloseMs > 0 && idle >= idleCloseMs) {
        stats.idleClosed++;
        conn.retire();
        conn.session.close();
      } else if (
        pingAfterMs > 0 && idle >= pingAfterMs && at - (conn.lastPing ?? 0) >= pingAfterMs
      ) {
        ping(conn, at);
      }
    }
  }

  const periods = [pingAfterMs, idleCloseMs].filter((ms) => ms > 0);
  let timer: ReturnType<typeof setInterval> | undefined;
  if (periods.length) {
    timer = setInterval(check, Math.max(250, Math.min(...periods) / 4));
    Deno.unrefTimer(timer);
  }
  return {
    check,
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
