/**
 * Conformance: the same cases through the TCP requester and through the stock
 * `@upstash/redis` HTTP client talking to our REST gateway give identical results.
 */
import { errors as upstashErrors, Redis } from "@upstash/redis";
import { Ratelimit } from "@upstash/ratelimit";
import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import {
  createFunctionLibrary,
  createGateway,
  createTcpRequester,
  scriptSha,
} from "../../../lib/redis/mod.ts";

const TOKEN = "gateway-test-token-0123456789";

async function withGateway(fn: (ctx: { tcp: Redis; http: Redis; url: string }) => Promise<void>) {
  const t = await startTestRedis();
  const requester = createTcpRequester(t.url);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    createGateway({ requester, token: TOKEN, maxBodyBytes: 64 * 1024 }).fetch,
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const http = new Redis({
    url,
    token: TOKEN,
    automaticDeserialization: false,
    enableTelemetry: false,
    enableAutoPipelining: false,
  });
  try {
    await fn({ tcp: t.redis, http, url });
  } finally {
    await server.shutdown();
    await requester.close();
    await t.stop();
  }
}

type Case = (r: Redis, k: string) => Promise<unknown>;

type Limiter = ConstructorParameters<typeof Ratelimit>[0]["limiter"];

/**
 * The stock `@upstash/ratelimit`, whose scripts carry Upstash's `allow-key-locking` flag: four
 * calls against a limit of three, then `getRemaining`. Windows of an hour keep a window boundary
 * from falling inside the test.
 */
async function ratelimitRun(r: Redis, k: string, limiter: Limiter) {
  const ratelimit = new Ratelimit({
    // @upstash/ratelimit types its redis against its own copy of @upstash/redis.
    redis: r as unknown as ConstructorParameters<typeof Ratelimit>[0]["redis"],
    limiter,
    prefix: k,
    analytics: false,
    ephemeralCache: false,
  });
  const verdicts = [];
  for (let i = 0; i < 4; i++) {
    const { success, remaining, limit } = await ratelimit.limit("client");
    verdicts.push({ success, remaining, limit });
  }
  const remaining = await ratelimit.getRemaining("client");
  const other = await ratelimit.getRemaining("another-client");
  const result = { verdicts, remaining: remaining.remaining, other: other.remaining };
  assertEquals(result.verdicts.map((v) => v.success), [true, true, true, false]);
  assertEquals(result.remaining, 0);
  assertEquals(result.other, 3);
  return result;
}

const cases: Record<string, Case> = {
  "strings, unicode included": async (r, k) => [
    await r.set(k, "héllo ✓ 123"),
    await r.get(k),
    await r.getrange(k, 0, 2),
  ],
  "integers": async (r, k) => [await r.incr(k), await r.incrby(k, 41), await r.strlen(k)],
  "nil": async (r, k) => [await r.get(`${k}:missing`), await r.hget(`${k}:h`, "nope")],
  "nested arrays": async (r, k) => {
    await r.xadd(k, "*", { a: "1", b: "two" });
    const nested = await r.eval(
      "return {1, 'x', {2, 'y', {'z'}}, redis.call('exists', KEYS[1])}",
      [k],
      [],
    );
    return [
      nested,
      await r.zadd(`${k}:z`, { score: 1, member: "m" }),
      await r.zrange(`${k}:z`, 0, -1),
    ];
  },
  "redis errors keep their text": async (r, k) => {
    await r.set(k, "v");
    const error = await r.hget(k, "f").then(() => null, (e: Error) => e);
    assertOk(error instanceof upstashErrors.UpstashError, `got ${error}`);
    return error.message.split(",")[0];
  },
  "EVALSHA falls back to EVAL on NOSCRIPT": async (r, k) => {
    const script = r.createScript<string>(`return 'fallback:' .. KEYS[1] .. ':${k}'`);
    return [await script.exec([k], []), await script.exec([k], [])];
  },
  "a function library: FUNCTION LOAD on a miss, then FCALL": async (r, k) => {
    await r.exec(["FUNCTION", "FLUSH"]);
    const lib = createFunctionLibrary(r, {
      name: "conformance",
      prelude: "local function twice(s) return s .. s end",
      functions: { echo: "return { KEYS[1], twice(ARGV[1]) }" },
    });
    return [await lib.call("echo", [k], ["ab"]), await lib.call("echo", [k], ["c"])];
  },
  "pipeline with one failing command": async (r, k) => {
    await r.set(k, "text");
    const p = r.pipeline();
    p.incr(`${k}:n`);
    p.incr(k);
    p.get(k);
    const out = await p.exec({ keepErrors: true });
    return out.map((x) => ({ result: x.result ?? null, error: x.error ?? null }));
  },
  "stock @upstash/ratelimit: sliding window": (r, k) =>
    ratelimitRun(r, k, Ratelimit.slidingWindow(3, "3600 s")),
  "stock @upstash/ratelimit: fixed window": (r, k) =>
    ratelimitRun(r, k, Ratelimit.fixedWindow(3, "3600 s")),
  "stock @upstash/ratelimit: token bucket": (r, k) =>
    ratelimitRun(r, k, Ratelimit.tokenBucket(1, "3600 s", 3)),
  "a script with Upstash's flags, by SCRIPT LOAD, EVALSHA and EVAL": async (r, k) => {
    const text = `#!lua flags=allow-key-locking\nreturn redis.call('incr', KEYS[1])`;
    const sha = await r.scriptLoad(text);
    assertEquals(sha, await scriptSha(text));
    const exists = await r.scriptExists(sha);
    const first = await r.evalsha(sha, [k], []);
    const second = await r.eval(text, [k], []);
    const p = r.pipeline();
    p.evalsha(sha, [k], []);
    p.scriptLoad(text);
    const piped = await p.exec();
    assertEquals([exists, first, second, piped], [[1], 1, 2, [3, sha]]);
    return piped;
  },
  "a script flag Redis knows is kept, an unknown one still refused": async (r, k) => {
    const readOnly = await r.eval(
      "#!lua flags=allow-key-locking,no-writes\nreturn redis.call('set', KEYS[1], 'v')",
      [k],
      [],
    ).then(() => "written", (e: Error) => e.message.split(".")[0]);
    const unknown = await r.eval("#!lua flags=made-up\nreturn 1", [], [])
      .then(() => "ran", (e: Error) => e.message.split(":")[0]);
    assertEquals(readOnly, "ERR Write commands are not allowed from read-only scripts");
    assertEquals(unknown, "ERR Unexpected flag in script shebang");
    return [readOnly, unknown];
  },
  "transaction": async (r, k) => {
    const tx = r.multi();
    tx.set(k, "1");
    tx.incr(k);
    tx.get(k);
    return await tx.exec();
  },
};

for (const [name, run] of Object.entries(cases)) {
  Deno.test(`gateway conformance: ${name}`, async () => {
    await withGateway(async ({ tcp, http }) => {
      const viaTcp = await run(tcp, "tcp:key");
      const viaHttp = await run(http, "http:key");
      assertEquals(
        JSON.stringify(viaHttp).replaceAll("http:key", "K"),
        JSON.stringify(viaTcp).replaceAll("tcp:key", "K"),
      );
    });
  });
}

Deno.test("gateway base64-encodes every string, OK included", async () => {
  await withGateway(async ({ url }) => {
    const post = (body: unknown, path = "") =>
      fetch(`${url}/${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "upstash-encoding": "base64" },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    assertEquals(await post(["SET", "k", "v"]), { result: btoa("OK") });
    assertEquals(await post(["EVAL", "return {'a', {'b'}, 3}", "0"]), {
      result: [btoa("a"), [btoa("b")], 3],
    });
    assertEquals(await post([["GET", "k"], ["GET", "nope"]], "pipeline"), [
      { result: btoa("v") },
      { result: null },
    ]);
  });
});

Deno.test("gateway answers every failure with a JSON {error}", async () => {
  await withGateway(async ({ url }) => {
    const call = async (path: string, init: RequestInit) => {
      const res = await fetch(`${url}${path}`, { method: "POST", ...init });
      return { status: res.status, body: await res.json() };
    };
    const auth = { authorization: `Bearer ${TOKEN}` };
    const unauthorized = await call("/", { body: '["PING"]' });
    assertEquals(unauthorized.status, 401);
    assertOk(unauthorized.body.error);
    const wrong = await call("/", { headers: { authorization: "Bearer nope" }, body: '["PING"]' });
    assertEquals(wrong.status, 401);
    const malformed = await call("/", { headers: auth, body: "{oops" });
    assertEquals(malformed.status, 400);
    assertOk(malformed.body.error);
    const notFound = await call("/nope", { headers: auth, body: '["PING"]' });
    assertEquals(notFound.status, 404);
    const tooBig = await call("/", {
      headers: auth,
      body: JSON.stringify(["SET", "k", "x".repeat(100 * 1024)]),
    });
    assertEquals(tooBig.status, 413);
    const refused = await call("/", { headers: auth, body: '["SUBSCRIBE", "c"]' });
    assertEquals(refused.status, 400);
    const redisError = await call("/", { headers: auth, body: '["INCR"]' });
    assertEquals(redisError.status, 400);
    assertOk(String(redisError.body.error).startsWith("ERR"));
  });
});

Deno.test("gateway answers 500 with JSON when Redis is gone", async () => {
  const t = await startTestRedis();
  const requester = createTcpRequester(t.url, { commandTimeoutMs: 500, connectTimeoutMs: 300 });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    createGateway({ requester, token: TOKEN }).fetch,
  );
  try {
    await t.server.stop();
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: '["PING"]',
    });
    assertEquals(res.status, 500);
    assertOk((await res.json()).error);
  } finally {
    await server.shutdown();
    await requester.close();
    await t.stop();
  }
});

Deno.test("stock client over the gateway surfaces a bad token as an UpstashError", async () => {
  await withGateway(async ({ url }) => {
    const bad = new Redis({ url, token: "wrong-token-wrong-token", enableTelemetry: false });
    await assertRejects(() => bad.ping(), upstashErrors.UpstashError, "Unauthorized");
  });
});
