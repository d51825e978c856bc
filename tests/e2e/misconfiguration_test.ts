/**
 * Misconfiguration gets one sentence and a non-zero exit, not a stack trace: a refused Upstash
 * token, a taken PORT (leaving no stale DATA_DIR/redis.url behind), a redis.url whose server is
 * gone, an unreadable APNS_CA_FILE, data an older edgepush wrote and nobody migrated. And the product's output stays JSON lines: Deno's legacy
 * `request.signal` warning is opted out of.
 */
import { freePort } from "../../lib/redis/mod.ts";
import { createGateway, createTcpRequester } from "../../lib/redis/mod.ts";
import { RespConnection } from "../../lib/redis/resp/connection.ts";
import { generateMasterKey } from "../../lib/crypto/sealed_box.ts";
import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { startTestRedis, waitFor } from "../support/redis_server.ts";
import { createV1Writer } from "../support/registry_v1/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SECRETS = {
  ADMIN_TOKEN: "misconfig-admin-token-0123456789",
  MASTER_KEY: generateMasterKey(),
};

/** Runs `main.ts …args` to its exit with only `env` (plus what deno needs). */
async function runMain(args: string[], env: Record<string, string>) {
  const base: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  for (const name of ["HOME", "DENO_DIR", "TMPDIR", "PATH"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: ROOT,
    env: { ...base, ...env },
    clearEnv: true,
    stdin: "null",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** The one line a misconfiguration earns: on stderr, alone, not a stack trace. */
function assertOneLine(stderr: string, ...mentions: string[]) {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  assertEquals(lines.length, 1, `expected one line, got:\n${stderr}`);
  for (const m of mentions) assertStringIncludes(lines[0], m);
}

Deno.test("start with a wrong UPSTASH_REDIS_REST_TOKEN exits 2 naming the variable", async () => {
  const redis = await startTestRedis();
  const requester = createTcpRequester(redis.url);
  const gateway = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    createGateway({ requester, token: "the-right-gateway-token-0123" }).fetch,
  );
  try {
    const run = await runMain([], {
      ...SECRETS,
      PORT: String(freePort()),
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${gateway.addr.port}`,
      UPSTASH_REDIS_REST_TOKEN: "a-wrong-token-0123456789",
    });
    assertEquals(run.code, 2);
    assertOneLine(run.stderr, "refused UPSTASH_REDIS_REST_TOKEN", "set UPSTASH_REDIS_REST_TOKEN");
    assertOk(!run.stderr.includes("a-wrong-token"), "the token is never printed");
  } finally {
    await gateway.shutdown();
    await requester.close();
    await redis.stop();
  }
});

Deno.test("start with REDIS_URL lacking or mistaking the password exits 2 naming REDIS_URL; the right one serves", async () => {
  const redis = await startTestRedis();
  // The test's own connection stays authenticated after the password is set.
  const admin = new RespConnection(redis.url);
  assertEquals(await admin.send(["CONFIG", "SET", "requirepass", "the-redis-password"]), "OK");
  await admin.close();
  const port = new URL(redis.url).port;
  try {
    for (
      const [url, answer] of [
        [`redis://127.0.0.1:${port}`, "NOAUTH"],
        [`redis://:a-wrong-password@127.0.0.1:${port}`, "WRONGPASS"],
      ]
    ) {
      const run = await runMain([], { ...SECRETS, PORT: String(freePort()), REDIS_URL: url });
      assertEquals(run.code, 2, run.stderr);
      assertOneLine(run.stderr, "refused REDIS_URL", answer, "put the password in REDIS_URL");
      assertOk(!run.stderr.includes("a-wrong-password"), "the password is never printed");
    }
    // The right password: `deno task migrate` (nothing to migrate) runs and exits 0.
    const serving = await runMain(["migrate"], {
      ...SECRETS,
      REDIS_URL: `redis://:the-redis-password@127.0.0.1:${port}`,
    });
    assertEquals(serving.code, 0, serving.stderr);
  } finally {
    await redis.stop();
  }
});

Deno.test("start with a taken PORT exits 1 and leaves no DATA_DIR/redis.url behind", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-misconfig-" });
  const listener = Deno.listen({ port: 0, hostname: "0.0.0.0" });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const run = await runMain([], { PORT: String(port), DATA_DIR: dataDir });
    assertEquals(run.code, 1);
    assertOneLine(run.stderr, `PORT ${port} is already in use`, "set PORT to a free port");
    const left = await Deno.stat(`${dataDir}/redis.url`).then(() => true, () => false);
    assertEquals(left, false);
    // And a worker beside it says what is wrong instead of "retry shortly" forever.
    const worker = await runMain(["worker"], { DATA_DIR: dataDir });
    assertEquals(worker.code, 2);
    assertOneLine(worker.stderr, "Start `deno task start` first");
  } finally {
    listener.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("worker and sync on a redis.url whose server is gone exit 1 saying to start it again", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-misconfig-" });
  try {
    await Deno.writeTextFile(`${dataDir}/redis.url`, `redis://127.0.0.1:${freePort()}`);
    for (const command of ["worker", "sync"]) {
      const run = await runMain([command], { DATA_DIR: dataDir });
      assertEquals(run.code, 1, command);
      assertOneLine(
        run.stderr,
        `${dataDir}/redis.url names a Redis that no longer answers`,
        "Start it again (`deno task start`)",
      );
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("start with an unreadable APNS_CA_FILE exits 2 naming it", async () => {
  const redis = await startTestRedis();
  try {
    const run = await runMain([], {
      ...SECRETS,
      PORT: String(freePort()),
      REDIS_URL: redis.url,
      APNS_CA_FILE: "/nonexistent/mock-apns-ca.pem",
    });
    assertEquals(run.code, 2);
    assertOneLine(run.stderr, "APNS_CA_FILE=/nonexistent/mock-apns-ca.pem cannot be read");
  } finally {
    await redis.stop();
  }
});

Deno.test("every line the server prints is JSON, a chunked request body included", async () => {
  const redis = await startTestRedis();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: ROOT,
    env: { ...SECRETS, PORT: String(port), REDIS_URL: redis.url, WORKERS: "0" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([child.stdout, child.stderr].map((s) => new Response(s).text()));
  try {
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
      await res?.body?.cancel();
      return res?.status === 200;
    }, { timeoutMs: 30_000, intervalMs: 50, what: "edgepush /readyz" });
    // A body without Content-Length goes through the body limit's Request copy, which is what
    // made Deno print its legacy `request.signal` notice.
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/apps`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${SECRETS.ADMIN_TOKEN}`,
          "content-type": "application/json",
        },
        body: ReadableStream.from([new TextEncoder().encode("{}")]),
      });
      assertEquals(res.status, 400);
      await res.body?.cancel();
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await redis.stop();
  }
  const lines = (await output).join("\n").split("\n").filter((l) => l.trim() !== "");
  assertOk(lines.length > 0);
  for (const line of lines) {
    assertOk(line.startsWith("{") && JSON.parse(line), `not a JSON line: ${line}`);
  }
});

Deno.test("start, worker and sync refuse data an older layout wrote until deno task migrate ran", async () => {
  const redis = await startTestRedis();
  try {
    const appId = "app_0000000000000000000old01";
    await redis.redis.sadd("ep:v1:apps", appId);
    await createV1Writer(redis.redis).register(appId, {
      token: "ab".repeat(32),
      environment: "production",
      attributes: {},
    });
    const env = { ...SECRETS, REDIS_URL: redis.url, PORT: String(freePort()) };
    for (const command of ["start", "worker", "sync"]) {
      const run = await runMain(command === "start" ? [] : [command], env);
      assertEquals(run.code, 2, command);
      assertOneLine(run.stderr, `(${appId})`, "run `deno task migrate`");
    }
    const migrate = await runMain(["migrate"], env);
    assertEquals(migrate.code, 0, migrate.stderr);
    const sync = await runMain(["sync"], env);
    assertEquals(sync.code, 0, sync.stderr);
    assertOk(!sync.stderr.includes("deno task migrate"), sync.stderr);
  } finally {
    await redis.stop();
  }
});
