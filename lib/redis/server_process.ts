/**
 * Starts and stops a private `redis-server` child process: the embedded default of
 * `deno task start`, and the Redis that tests run against.
 *
 * @module
 */

/** Options for {@linkcode startRedisServer}. */
export interface RedisServerOptions {
  /** Directory for the server's data (AOF). Created when missing. */
  dataDir: string;
  /** Port to listen on. Default: a free port picked at start. */
  port?: number;
  /** Keep an append-only file so data survives restarts. Default: `true`. */
  appendOnly?: boolean;
  /** How long to wait for the server to answer PING, in ms. Default: `10000`. */
  startTimeoutMs?: number;
  /** More `redis-server` arguments, after edgepush's own (e.g. `--requirepass`, a TLS port). */
  extraArgs?: string[];
}

/** A running private redis-server. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** TCP port it listens on. */
  port: number;
  /** Stops the server and waits for the process to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** Thrown when `redis-server` is not on PATH; its message says what to install. */
export class RedisServerMissing extends Error {
  override name = "RedisServerMissing";
  constructor() {
    super(
      "redis-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install redis-server`, " +
        "macOS: `brew install redis`), or point edgepush at an existing Redis with REDIS_URL or " +
        "UPSTASH_REDIS_REST_URL + UPSTASH_REDIS_REST_TOKEN.",
    );
  }
}

/** Thrown when a live process already runs a redis-server on this data directory. */
export class DataDirInUse extends Error {
  override name = "DataDirInUse";
  constructor(dataDir: string) {
    super(
      `${dataDir} is in use by another running edgepush (or test) with its own redis-server. ` +
        "Stop that process, or give this one another DATA_DIR.",
    );
  }
}

/** Held (flock) for as long as this process runs the directory's redis-server. */
const LOCK_FILE = "server.lock";
/** The port of the directory's redis-server, removed on a clean stop. */
const PORT_FILE = "server.port";

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Launches `redis-server` bound to 127.0.0.1 and waits until it answers. The data directory is
 * locked for as long as it runs; an orphan left there by a dead process is shut down first.
 *
 * @throws {RedisServerMissing} when `redis-server` is not installed.
 * @throws {DataDirInUse} when a live process already runs a server on `dataDir`.
 * @example
 * ```ts
 * const server = await startRedisServer({ dataDir: "./.data/redis" });
 * // … use server.url …
 * await server.stop();
 * ```
 */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  await Deno.mkdir(options.dataDir, { recursive: true });
  const dir = await Deno.realPath(options.dataDir);
  const lock = await Deno.open(`${dir}/${LOCK_FILE}`, { create: true, write: true });
  if (!(await lock.tryLock(true))) {
    lock.close();
    throw new DataDirInUse(options.dataDir);
  }
  try {
    await shutDownOrphan(dir, options.startTimeoutMs ?? 10_000);
    const server = await launch(dir, options);
    await Deno.writeTextFile(`${dir}/${PORT_FILE}`, String(server.port));
    let stopped: Promise<void> | undefined;
    return {
      ...server,
      stop() {
        stopped ??= (async () => {
          await server.stop();
          await Deno.remove(`${dir}/${PORT_FILE}`).catch(() => {});
          lock.close();
        })();
        return stopped;
      },
    };
  } catch (error) {
    lock.close();
    throw error;
  }
}

/**
 * A process that ran this directory's redis-server and died without stopping it (SIGKILL, a
 * crash) leaves the server running: shut it down cleanly (AOF flushed) before another starts,
 * or two servers would write the same files and the older one's AOF rewrite would drop what
 * the newer one wrote. Holding the lock proves its owner is gone; `CONFIG GET dir` proves the
 * server on the recorded port is this directory's, not some other Redis.
 */
async function shutDownOrphan(dir: string, timeoutMs: number): Promise<void> {
  const port = Number(await Deno.readTextFile(`${dir}/${PORT_FILE}`).catch(() => ""));
  if (!Number.isInteger(port) || port <= 0 || port === 6379) return;
  const reply = await rawRedisReply(port, "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$3\r\ndir\r\n");
  if (reply?.includes(`\r\n${dir}\r\n`)) {
    await rawRedisReply(port, "SHUTDOWN\r\n");
    const deadline = Date.now() + timeoutMs;
    while (await answersPing(port)) {
      if (Date.now() > deadline) {
        throw new Error(`the orphaned redis-server on port ${port} (${dir}) did not shut down`);
      }
      await delay(50);
    }
  }
  await Deno.remove(`${dir}/${PORT_FILE}`).catch(() => {});
}

async function launch(dir: string, options: RedisServerOptions): Promise<RedisServer> {
  const port = options.port ?? freePort();
  const args = [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--dir",
    dir,
    "--appendonly",
    options.appendOnly === false ? "no" : "yes",
    "--save",
    "",
    "--protected-mode",
    "yes",
    "--daemonize",
    "no",
    "--loglevel",
    "warning",
    ...(options.extraArgs ?? []),
  ];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("redis-server", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new RedisServerMissing();
    throw error;
  }
  const output = collect(child);
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  while (!(await answersPing(port))) {
    const exited = await Promise.race([child.status, delay(50).then(() => null)]);
    if (exited) {
      throw new Error(`redis-server exited with code ${exited.code}: ${(await output).trim()}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not answer on port ${port} in time`);
    }
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop() {
      stopped ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        await child.status;
        await output;
      })();
      return stopped;
    },
  };
}

async function collect(child: Deno.ChildProcess): Promise<string> {
  const [out, err] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return out + err;
}

/** Up: PONG, or NOAUTH from a server started with a password (`extraArgs`). */
async function answersPing(port: number): Promise<boolean> {
  return /^(\+PONG|-NOAUTH)/.test(await rawRedisReply(port, "PING\r\n") ?? "");
}

/**
 * Sends one raw command (RESP inline or array text) to a local port: the first reply bytes, or
 * null when nothing answers. For probing a server before any client is built.
 */
export async function rawRedisReply(port: number, command: string): Promise<string | null> {
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode(command));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    return n === null ? null : new TextDecoder().decode(buf.subarray(0, n));
  } catch {
    return null;
  } finally {
    conn?.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
