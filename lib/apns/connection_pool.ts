/**
 * The HTTP/2 connections to APNs, pooled per (host, credential): up to `connections` of them per
 * pool, each carrying at most `maxStreams` streams (or fewer, when the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS says so). A request takes the least-loaded connection with a
 * free stream, or waits for one to come free; a connection that goes away, errors or is retired
 * leaves its pool and closes once its streams have ended.
 *
 * @module
 */
import type { Deadline, DeadlineSweep } from "../deadline_sweep.ts";
import { H2Session } from "./h2/session.ts";
import { hostAndPort } from "./hosts.ts";
import type { WatchedConnection } from "./connection_health.ts";

/**
 * What a connection authenticates with. Token-auth connections carry no identity (the JWT goes
 * in each request) but Apple wants one team per connection, so `id` should be the team id.
 * Certificate connections carry the client certificate; `id` names it (e.g. its fingerprint).
 */
export type ConnectionCredential =
  | { kind: "token"; id: string }
  | { kind: "certificate"; id: string; certPem: string; keyPem: string };

/** One HTTP/2 session in a pool. */
export interface Connection extends WatchedConnection {
  session: H2Session;
  inflight: number;
  /** Streams it may carry at once: `maxStreams`, or the server's lower limit. */
  limit: number;
  usable: boolean;
  /** Whether the server's SETTINGS arrived, i.e. it completed the TLS handshake. */
  settled: boolean;
  /** Takes it out of the pool for good (new streams go elsewhere); closes it once idle. */
  retire(): void;
}

/** A request waiting for a free stream until its deadline. */
interface Waiter extends Deadline {
  /** Lets it try for a stream again; false when it had already given up. */
  wake(): boolean;
}

/** The connections to one (host, credential), and the requests waiting for a free stream. */
export interface Pool {
  connections: Connection[];
  waiters: Waiter[];
}

/** Options of {@linkcode createConnectionPools}. */
export interface ConnectionPoolOptions {
  /** Connections per pool. */
  connections: number;
  /** Streams per connection, before the server's own limit. */
  maxStreams: number;
  /** The extra CA to trust for `host`, or undefined for the system's roots. */
  caFor(host: string): string[] | undefined;
  /** Clock in epoch ms, for each connection's `lastUsed`. */
  now(): number;
  /** Bumped for every connection opened. */
  stats: { connectionsOpened: number };
  /**
   * Watches waiters' deadlines (on `now`). When the pool is saturated, as a large send keeps it,
   * most requests wait: a timer each cost ~8% of the relay's CPU.
   */
  sweep: DeadlineSweep;
}

/** Every pool of one transport. */
export interface ConnectionPools {
  /** The pool of (host, credential), created on first use. */
  poolFor(host: string, credential: ConnectionCredential): Pool;
  /**
   * The least-loaded connection with a free stream (opening one if the pool has room), with
   * that stream taken, or undefined when every stream is busy.
   */
  pick(pool: Pool, host: string, credential: ConnectionCredential): Connection | undefined;
  /** Like `pick`, but waits for a stream until `deadline` (epoch ms); undefined after it. */
  acquire(
    pool: Pool,
    host: string,
    credential: ConnectionCredential,
    deadline: number,
  ): Promise<Connection | undefined>;
  /** Gives back the stream `pick` or `acquire` took. */
  release(pool: Pool, conn: Connection): void;
  /** Retires every connection of `credential`, on every host; idle ones close at once. */
  retire(credential: ConnectionCredential): void;
  /** Every pooled connection, for the health check. */
  all(): Connection[];
  /** True once `close()` was called: nothing is handed out any more. */
  readonly closed: boolean;
  /** Wakes every waiter empty-handed and closes every connection. */
  close(): Promise<void>;
}

/** Creates the pools of one transport. */
export function createConnectionPools(options: ConnectionPoolOptions): ConnectionPools {
  const { connections, maxStreams, now, stats, sweep } = options;
  const pools = new Map<string, Pool>();
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
    for (const w of waiters) w.wake();
  }

  function open(pool: Pool, host: string, credential: ConnectionCredential): Connection {
    const { hostname, port } = hostAndPort(host);
    const session = new H2Session({
      hostname,
      port,
      caCerts: options.caFor(host),
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
    session.onSettings = (maxConcurrentStreams) => {
      conn.settled = true;
      conn.limit = Math.max(1, Math.min(maxStreams, maxConcurrentStreams ?? maxStreams));
      wake(pool);
    };
    session.onGone = retire;
    pool.connections.push(conn);
    return conn;
  }

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
      if (deadline <= now()) return undefined;
      await new Promise<void>((resolve) => {
        let waiting = true;
        const waiter: Waiter = {
          deadline,
          wake() {
            if (!waiting) return false;
            waiting = false;
            sweep.unwatch(waiter);
            resolve();
            return true;
          },
          // Left in the queue: `release` skips it, so no freed stream is handed to it.
          expire() {
            waiting = false;
            resolve();
          },
        };
        pool.waiters.push(waiter);
        sweep.watch(waiter);
      });
    }
    return undefined;
  }

  function release(pool: Pool, conn: Connection): void {
    conn.inflight--;
    conn.lastUsed = now();
    // Hand the freed stream to one waiter still waiting; others stay queued (no thundering herd).
    while (pool.waiters.length > 0 && !pool.waiters.shift()!.wake());
    if (!conn.usable && conn.inflight === 0) conn.session.close();
  }

  return {
    poolFor,
    pick,
    acquire,
    release,
    get closed() {
      return closed;
    },
    all: () => [...pools.values()].flatMap((p) => p.connections),
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
