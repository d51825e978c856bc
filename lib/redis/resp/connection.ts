/**
 * One pipelined RESP2 connection to a Redis server over Deno's own TCP or TLS sockets.
 *
 * Commands are written as they come and answered in order; every command issued until the
 * event loop's check phase leaves in one write, so under load the commands of all requests
 * served in one poll share a syscall. The connection opens on first use, authenticates and
 * selects its database from the URL, and reopens after a loss when next used, no sooner than
 * its back-off allows. A loss fails the commands it caught in flight; nothing is resent,
 * because a command whose reply was lost may have run.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { CommandBuffer, ProtocolError, type Reply, RespError, RespParser } from "./codec.ts";

/** Options of {@linkcode RespConnection}. */
export interface RespConnectionOptions {
  /** TCP (and TLS) connect timeout in ms, the handshake included. Default: `2000`. */
  connectTimeoutMs?: number;
  /**
   * Delay before the next connect after `failures` consecutive failed ones (≥ 1), in ms.
   * Default: `min(failures × 100, 1000)`.
   */
  retryDelayMs?: (failures: number) => number;
  /**
   * CA certificates (PEM) to trust for `rediss://`, beside the default roots. Operators trust a
   * private CA with Deno's `DENO_CERT=/path/ca.pem` instead.
   */
  caCerts?: string[];
}

/** Where and as whom to connect, from a `redis://` or `rediss://` URL. */
export interface RedisAddress {
  hostname: string;
  port: number;
  tls: boolean;
  username: string;
  password: string;
  db: number;
}

/** Reads `redis://[user:password@]host[:port][/db]` (`rediss://` for TLS). Throws on others. */
export function parseRedisUrl(url: string): RedisAddress {
  const parsed = new URL(url);
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new Error(`not a redis:// or rediss:// URL: ${parsed.protocol}`);
  }
  const db = parsed.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) throw new Error(`bad database number in the URL: ${db}`);
  return {
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: Number(parsed.port || 6379),
    tls: parsed.protocol === "rediss:",
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    db: db === "" ? 0 : Number(db),
  };
}

/** A command waiting for `left` more replies. */
interface Pending {
  left: number;
  /** Set when several replies are collected for one caller. */
  replies: Reply[] | null;
  resolve(value: Reply | Reply[]): void;
  reject(error: Error): void;
}

/** A pipelined connection to one Redis server. */
export class RespConnection {
  readonly #address: RedisAddress;
  readonly #connectTimeoutMs: number;
  readonly #retryDelayMs: (failures: number) => number;
  readonly #caCerts: string[] | undefined;
  readonly #parser = new RespParser();

  #conn: Deno.Conn | null = null;
  #state: "idle" | "connecting" | "ready" | "closed" = "idle";
  #failures = 0;
  #notBefore = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #reading: Promise<void> = Promise.resolve();

  /** Written (or about to be), awaiting replies in order; `#head` is the oldest. */
  #inflight: Pending[] = [];
  #head = 0;
  /** Encoded commands not yet written. */
  readonly #out = new CommandBuffer();
  #flushQueued = false;
  #writing = false;
  /** Commands issued while the connection was not ready, sent once it is. */
  #waiting: { pending: Pending; commands: readonly (readonly string[])[] }[] = [];

  /** A connection to `url`; nothing is dialled until the first command. */
  constructor(url: string, options: RespConnectionOptions = {}) {
    this.#address = parseRedisUrl(url);
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
    this.#retryDelayMs = options.retryDelayMs ?? ((n) => Math.min(n * 100, 1_000));
    this.#caCerts = options.caCerts;
  }

  /** Whether commands are being written now (false while connecting, after a loss, or closed). */
  get ready(): boolean {
    return this.#state === "ready";
  }

  /**
   * Sends one command. Resolves with its reply (a {@linkcode RespError} value for Redis' error
   * reply); rejects when the connection cannot be opened or is lost before the reply.
   */
  send(command: readonly string[]): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.#issue(
        { left: 1, replies: null, resolve: resolve as Pending["resolve"], reject },
        [command],
      );
    });
  }

  /** Sends commands back to back (one write); resolves with their replies in order. */
  sendAll(commands: readonly (readonly string[])[]): Promise<Reply[]> {
    if (commands.length === 0) return Promise.resolve([]);
    return new Promise<Reply[]>((resolve, reject) => {
      this.#issue(
        { left: commands.length, replies: [], resolve: resolve as Pending["resolve"], reject },
        commands,
      );
    });
  }

  /** Closes the connection; commands in flight or waiting fail. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#retryTimer);
    const conn = this.#conn;
    this.#conn = null;
    this.#failAll(new Error("Connection is closed."));
    if (conn) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    await this.#reading;
  }

  /** A method, so that TypeScript does not narrow the state across awaits. */
  #isClosed(): boolean {
    return this.#state === "closed";
  }

  #issue(pending: Pending, commands: readonly (readonly string[])[]): void {
    if (this.#state === "ready") {
      this.#inflight.push(pending);
      for (let i = 0; i < commands.length; i++) this.#out.write(commands[i]);
      this.#queueFlush();
      return;
    }
    if (this.#state === "closed") {
      pending.reject(new Error("Connection is closed."));
      return;
    }
    this.#waiting.push({ pending, commands });
    if (this.#state === "idle" && this.#retryTimer === undefined) {
      const wait = this.#notBefore - Date.now();
      if (wait <= 0) {
        this.#connect();
      } else {
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          if (this.#state === "idle") this.#connect();
        }, wait);
      }
    }
  }

  async #connect(): Promise<void> {
    this.#state = "connecting";
    let conn: Deno.Conn | null = null;
    try {
      conn = await this.#dial();
      if (this.#isClosed()) {
        conn.close();
        return;
      }
      this.#conn = conn;
      this.#parser.reset();
      this.#reading = this.#readLoop(conn);
      // Still "connecting": commands issued meanwhile queue behind those already waiting.
      await this.#handshake();
      if (this.#isClosed()) return;
      this.#state = "ready";
      this.#failures = 0;
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const { pending, commands } of waiting) {
        this.#inflight.push(pending);
        for (const command of commands) this.#out.write(command);
      }
      this.#queueFlush();
    } catch (error) {
      if (this.#isClosed()) return;
      this.#failures++;
      this.#notBefore = Date.now() + this.#retryDelayMs(this.#failures);
      if (conn) this.#lost(conn, error as Error);
      this.#state = "idle";
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const { pending } of waiting) pending.reject(error as Error);
    }
  }

  /** Opens the socket within the connect timeout; a socket that opens too late is closed. */
  #dial(): Promise<Deno.Conn> {
    const { hostname, port, tls } = this.#address;
    const opening: Promise<Deno.Conn> = tls
      ? Deno.connectTls({ hostname, port, caCerts: this.#caCerts })
      : Deno.connect({ hostname, port }).then((conn) => {
        conn.setNoDelay(true);
        conn.setKeepAlive(true);
        return conn;
      });
    return new Promise<Deno.Conn>((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(new Error(`connect ETIMEDOUT ${hostname}:${port}`));
      }, this.#connectTimeoutMs);
      opening.then((conn) => {
        clearTimeout(timer);
        if (late) {
          conn.close();
          return;
        }
        resolve(conn);
      }, (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** AUTH and SELECT from the URL, before any queued command: their refusal fails those. */
  async #handshake(): Promise<void> {
    const { username, password, db } = this.#address;
    const commands: string[][] = [];
    if (password !== "") {
      commands.push(username !== "" ? ["AUTH", username, password] : ["AUTH", password]);
    }
    if (db !== 0) commands.push(["SELECT", String(db)]);
    if (commands.length === 0) return;
    const replies = await new Promise<Reply[]>((resolve, reject) => {
      for (const command of commands) this.#out.write(command);
      this.#inflight.push({
        left: commands.length,
        replies: [],
        resolve: resolve as Pending["resolve"],
        reject,
      });
      this.#queueFlush();
    });
    const refused = replies.find((reply) => reply instanceof RespError);
    if (refused) throw refused;
  }

  async #readLoop(conn: Deno.Conn): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await conn.read(chunk);
        if (n === null) throw new Error("Connection closed by the Redis server.");
        const replies = this.#parser.push(chunk.subarray(0, n));
        for (let i = 0; i < replies.length; i++) this.#answer(replies[i]);
      }
    } catch (error) {
      this.#lost(conn, error as Error);
    }
  }

  #answer(reply: Reply): void {
    const pending = this.#inflight[this.#head];
    if (pending === undefined) throw new ProtocolError("a reply no command asked for");
    if (pending.replies === null) {
      pending.left = 0;
    } else {
      pending.replies.push(reply);
      if (--pending.left > 0) return;
    }
    this.#inflight[this.#head] = undefined as unknown as Pending;
    this.#head++;
    if (this.#head === this.#inflight.length) {
      this.#inflight.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#inflight.length) {
      this.#inflight = this.#inflight.slice(this.#head);
      this.#head = 0;
    }
    pending.resolve(pending.replies ?? reply);
  }

  #queueFlush(): void {
    if (this.#flushQueued || this.#writing) return;
    this.#flushQueued = true;
    setImmediate(this.#flush);
  }

  #flush = async (): Promise<void> => {
    this.#flushQueued = false;
    const conn = this.#conn;
    if (conn === null || this.#out.length === 0) return;
    this.#writing = true;
    try {
      while (this.#out.length > 0 && this.#conn === conn) {
        // Written in full before the next take: the buffer it views is then filled again.
        const bytes = this.#out.take();
        let written = 0;
        while (written < bytes.length) {
          written += await conn.write(written === 0 ? bytes : bytes.subarray(written));
        }
      }
    } catch (error) {
      this.#lost(conn, error as Error);
    } finally {
      this.#writing = false;
      // A write left pending on a lost socket held back the flush of its successor.
      if (this.#out.length > 0 && this.#conn !== null && this.#conn !== conn) this.#queueFlush();
    }
  };

  /** Drops `conn` (once): its commands in flight fail; the next command dials again. */
  #lost(conn: Deno.Conn, error: Error): void {
    if (this.#conn !== conn) return;
    this.#conn = null;
    try {
      conn.close();
    } catch { /* already closed */ }
    // A loss during the handshake leaves "connecting" to #connect, which fails its waiters.
    if (this.#state === "ready") this.#state = "idle";
    this.#out.clear();
    const inflight = this.#inflight.slice(this.#head);
    this.#inflight = [];
    this.#head = 0;
    const cause = error instanceof ProtocolError
      ? error
      : new Error(`Connection lost: ${error.message}`, { cause: error });
    for (const pending of inflight) pending.reject(cause);
  }

  #failAll(error: Error): void {
    const inflight = this.#inflight.slice(this.#head);
    this.#inflight = [];
    this.#head = 0;
    this.#out.clear();
    for (const pending of inflight) pending.reject(error);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const { pending } of waiting) pending.reject(error);
  }
}
