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

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Launches `redis-server` bound to 127.0.0.1 and waits until it answers.
 *
 * @throws {RedisServerMissing} when `redis-server` is not installed.
 * @example
 * ```ts
 * const server = await startRedisServer({ dataDir: "./.data/redis" });
 * // … use server.url …
 * await server.stop();
 * ```
 */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  await Deno.mkdir(options.dataDir, { recursive: true });
  const port = options.port ?? freePort();
  const args = [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--dir",
    await Deno.realPath(options.dataDir),
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

async function answersPing(port: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buf = new Uint8Array(64);
    const n = await conn.read(buf);
    return n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG");
  } catch {
    return false;
  } finally {
    conn?.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
