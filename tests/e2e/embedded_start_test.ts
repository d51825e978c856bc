/**
 * The embedded default end to end: `deno run -A main.ts` with no Redis configured launches a
 * private redis-server under DATA_DIR, prints a generated admin token once, keeps its data (AOF)
 * across restarts, and takes the server down with it on SIGTERM. `sync` and `redis-http` find
 * the running instance through DATA_DIR/redis.url. Without redis-server on PATH it says what to
 * install.
 */
import { freePort } from "../../lib/redis/mod.ts";
import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { generateApnsKey } from "../support/harness.ts";
import { waitFor } from "../support/redis_server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TOKEN_LINE = /ADMIN_TOKEN=(\S+)/g;

/** The environment a child gets: no REDIS_URL, no UPSTASH_*, no secrets; only what deno needs. */
function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...extra };
  for (const name of ["HOME", "DENO_DIR", "TMPDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined && !(name in env)) env[name] = value;
  }
  env.PATH ??= Deno.env.get("PATH") ?? "";
  return env;
}

/** A `main.ts` child process whose output is collected as it arrives. */
interface Child {
  output: { stdout: string; stderr: string };
  exited: Promise<Deno.CommandStatus>;
  /** Sends `signal` (if still running) and waits for the exit; SIGKILL after the deadline. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Spawns `<deno> run -A main.ts …args` from the repository root. */
function spawnMain(args: string[], env: Record<string, string>): Child {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: ROOT,
    env: baseEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = { stdout: "", stderr: "" };
  const pump = async (stream: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) output[into] += text;
  };
  const streams = Promise.all([pump(child.stdout, "stdout"), pump(child.stderr, "stderr")]);
  let running = true;
  const exited = child.status.then(async (status) => {
    running = false;
    await streams;
    return status;
  });
  return {
    output,
    exited,
    async stop(signal = "SIGTERM") {
      if (running) child.kill(signal);
      const timer = setTimeout(() => running && child.kill("SIGKILL"), 15_000);
      const status = await exited;
      clearTimeout(timer);
      return status;
    },
  };
}

async function canConnect(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Last resort if a test failed with its server still up: stop the private redis-server. */
async function shutdownOrphan(port: number | undefined) {
  if (!port || port === 6379 || !(await canConnect(port))) return;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode("SHUTDOWN NOSAVE\r\n")).catch(() => {});
  await conn.read(new Uint8Array(64)).catch(() => null);
  conn.close();
}

async function waitReady(url: string, child: Child) {
  let exited = false;
  child.exited.then(() => exited = true);
  await waitFor(async () => {
    if (exited) throw new Error(`main.ts exited early:\n${child.output.stderr}`);
    const res = await fetch(`${url}/readyz`).catch(() => null);
    await res?.body?.cancel();
    return res?.status === 200;
  }, { timeoutMs: 60_000, intervalMs: 50, what: `${url}/readyz` });
}

async function redisPortOf(dataDir: string): Promise<number> {
  const url = (await Deno.readTextFile(`${dataDir}/redis.url`)).trim();
  const match = /^redis:\/\/127\.0\.0\.1:(\d+)$/.exec(url);
  assertOk(match, `redis.url holds a local redis URL, got ${url}`);
  return Number(match[1]);
}

Deno.test("embedded start: private redis-server, token printed once, AOF across restarts, sync and redis-http beside it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-embedded-" });
  const children: Child[] = [];
  let redisPort: number | undefined;
  const start = (args: string[], env: Record<string, string> = {}) => {
    const child = spawnMain(args, { DATA_DIR: dataDir, LOG_LEVEL: "info", ...env });
    children.push(child);
    return child;
  };
  try {
    // First start: generates and prints the token, launches redis-server with an AOF.
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const first = start([], { PORT: String(port) });
    await waitReady(url, first);
    const printed = [...first.output.stdout.matchAll(TOKEN_LINE)].map((m) => m[1]);
    assertEquals(printed.length, 1, `ADMIN_TOKEN printed once:\n${first.output.stdout}`);
    const secrets = JSON.parse(await Deno.readTextFile(`${dataDir}/secrets.json`));
    assertEquals(printed[0], secrets.adminToken);
    const admin = { authorization: `Bearer ${printed[0]}`, "content-type": "application/json" };

    const created = await fetch(`${url}/v1/apps`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({
        name: "Embedded app",
        bundleId: "com.example.embedded",
        apns: {
          teamId: "TEAM123456",
          keyId: "KEY1234567",
          privateKey: (await generateApnsKey()).privateKeyPem,
        },
      }),
    });
    assertEquals(created.status, 201, await created.clone().text());
    const { appId } = await created.json();
    const wrong = await fetch(`${url}/v1/apps/${appId}`, {
      headers: { authorization: "Bearer not-the-admin-token-at-all" },
    });
    assertEquals(wrong.status, 401);
    await wrong.body?.cancel();

    redisPort = await redisPortOf(dataDir);
    assertOk(await canConnect(redisPort), "the private redis-server listens on redis.url's port");
    assertOk(
      await exists(`${dataDir}/redis/appendonlydir`) ||
        await exists(`${dataDir}/redis/appendonly.aof`),
      "DATA_DIR/redis keeps an append-only file",
    );

    // SIGTERM: a clean exit that takes redis-server down and removes redis.url.
    assertEquals((await first.stop("SIGTERM")).code, 0, first.output.stderr);
    assertOk(!(await canConnect(redisPort)), "redis-server is gone after SIGTERM");
    assertOk(!(await exists(`${dataDir}/redis.url`)), "redis.url is removed on shutdown");

    // Second start on the same DATA_DIR: no new token, the app is still there.
    const port2 = freePort();
    const url2 = `http://127.0.0.1:${port2}`;
    const second = start([], { PORT: String(port2) });
    await waitReady(url2, second);
    redisPort = await redisPortOf(dataDir);
    assertEquals([...second.output.stdout.matchAll(TOKEN_LINE)].length, 0, "token not reprinted");
    const kept = await fetch(`${url2}/v1/apps/${appId}`, { headers: admin });
    assertEquals(kept.status, 200);
    assertEquals((await kept.json()).name, "Embedded app");

    // `sync` runs against the running embedded instance and prints a JSON report.
    const sync = start(["sync"]);
    const syncStatus = await sync.exited;
    assertEquals(syncStatus.code, 0, sync.output.stderr);
    const reportStart = sync.output.stdout.search(/^\{$/m);
    assertOk(reportStart >= 0, `sync prints a JSON report:\n${sync.output.stdout}`);
    const report = JSON.parse(sync.output.stdout.slice(reportStart));
    assertEquals(
      report.apps.map((a: { appId: string }) => a.appId),
      [appId],
      "the report covers the app created before the restart",
    );

    // `redis-http` fronts the same Redis with the Upstash REST protocol.
    const httpPort = freePort();
    const gatewayToken = "embedded-gateway-token-0123456789";
    const gateway = start(["redis-http"], {
      REDIS_HTTP_TOKEN: gatewayToken,
      REDIS_HTTP_PORT: String(httpPort),
    });
    const ping = (token: string) =>
      fetch(`http://127.0.0.1:${httpPort}/`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(["PING"]),
      });
    const pong = await waitFor(async () => {
      const res = await ping(gatewayToken).catch(() => null);
      return res?.status === 200 ? await res.json() : (await res?.body?.cancel(), null);
    }, { timeoutMs: 60_000, intervalMs: 50, what: "redis-http to answer" });
    assertEquals(pong, { result: "PONG" });
    const refused = await ping("wrong-token-wrong-token");
    assertEquals(refused.status, 401);
    assertStringIncludes(refused.headers.get("content-type") ?? "", "application/json");
    assertOk((await refused.json()).error);
    assertEquals((await gateway.stop("SIGTERM")).code, 0, gateway.output.stderr);

    assertEquals((await second.stop("SIGTERM")).code, 0, second.output.stderr);
    assertOk(!(await canConnect(redisPort)), "redis-server is gone after the second SIGTERM");
  } finally {
    for (const child of children) await child.stop("SIGTERM");
    await shutdownOrphan(redisPort);
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("embedded start after a SIGKILL shuts the orphaned redis-server down first; a second live start is refused", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-orphan-" });
  const children: Child[] = [];
  const ports: number[] = [];
  const start = () => {
    const port = freePort();
    const child = spawnMain([], { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "warn" });
    children.push(child);
    return { child, url: `http://127.0.0.1:${port}` };
  };
  try {
    const first = start();
    await waitReady(first.url, first.child);
    const { adminToken } = JSON.parse(await Deno.readTextFile(`${dataDir}/secrets.json`));
    const admin = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
    const created = await fetch(`${first.url}/v1/apps`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({
        name: "Survives a crash",
        bundleId: "com.example.crash",
        apns: {
          teamId: "TEAM123456",
          keyId: "KEY1234567",
          privateKey: (await generateApnsKey()).privateKeyPem,
        },
      }),
    });
    assertEquals(created.status, 201);
    const { appId } = await created.json();
    ports.push(await redisPortOf(dataDir));

    // A second start while the first is alive must not run another server on the same files.
    const rival = start();
    const refused = await Promise.race([
      rival.child.exited,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 30_000)),
    ]);
    assertOk(refused && refused.code !== 0, "a second live start on one DATA_DIR exits");
    assertStringIncludes(rival.child.output.stderr, "in use");

    await first.child.stop("SIGKILL");
    assertOk(await canConnect(ports[0]), "SIGKILL leaves the private redis-server running");

    const second = start();
    await waitReady(second.url, second.child);
    ports.push(await redisPortOf(dataDir));
    assertOk(ports[1] !== ports[0]);
    assertOk(!(await canConnect(ports[0])), "the orphan was shut down before the new server");
    const kept = await fetch(`${second.url}/v1/apps/${appId}`, { headers: admin });
    assertEquals(kept.status, 200, "the orphan's data is kept");
    assertEquals((await kept.json()).name, "Survives a crash");
  } finally {
    for (const child of children) await child.stop("SIGTERM");
    for (const port of ports) await shutdownOrphan(port);
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("embedded start without redis-server on PATH exits non-zero and says what to install", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-noredis-" });
  const emptyPath = await Deno.makeTempDir({ prefix: "edgepush-path-" });
  const child = spawnMain([], { DATA_DIR: dataDir, PORT: String(freePort()), PATH: emptyPath });
  try {
    const status = await Promise.race([
      child.exited,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 60_000)),
    ]);
    assertOk(status, "main.ts exits by itself");
    assertOk(status.code !== 0, `exit code ${status.code}`);
    const stderr = child.output.stderr;
    assertStringIncludes(stderr, "redis-server");
    assertOk(/apt-get install redis-server|brew install redis/.test(stderr), stderr);
    assertOk(!(await exists(`${dataDir}/redis.url`)), "no redis.url without a server");
  } finally {
    await child.stop("SIGKILL");
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    await Deno.remove(emptyPath, { recursive: true }).catch(() => {});
  }
});
