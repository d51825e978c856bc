/**
 * One code path, several Redis modes: the same admin + SDK + server flow through the TCP
 * requester and through the stock `@upstash/redis` HTTP client → REST gateway → Redis gives the
 * same observable results, answer for answer.
 */
import { assertEquals, assertOk } from "../support/assert.ts";
import { ADMIN_TOKEN } from "../support/harness.ts";
import {
  GATEWAY_TOKEN,
  type ModeHarness,
  REDIS_MODES,
  type RedisModeName,
  startModeHarness,
} from "../support/redis_modes.ts";
import { startTestRedis } from "../support/redis_server.ts";

const NOW = Date.parse("2025-06-01T12:00:00.000Z");
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const tok = (n: number) => n.toString(16).padStart(64, "0");

/** One answer of the flow, with generated ids and secrets replaced by stable names. */
interface Step {
  step: string;
  status: number;
  body: unknown;
}

async function withMode(mode: RedisModeName, fn: (h: ModeHarness) => Promise<void>) {
  const t = await startTestRedis();
  const h = await startModeHarness(mode, t.server, { services: { now: () => NOW } });
  try {
    await fn(h);
  } finally {
    await h.stop();
    await t.stop();
  }
}

/** Runs the flow and returns its transcript. */
async function runFlow(h: ModeHarness): Promise<Step[]> {
  const steps: Step[] = [];
  const secrets = new Map<string, string>();
  const name = (value: string, as: string) => (secrets.set(value, `<${as}>`), value);
  const record = async (step: string, method: string, path: string, init = {}) => {
    const res = await h.call(method, path, init);
    steps.push({ step, status: res.status, body: res.body });
    return res;
  };

  const app = await h.createTestApp({ name: "Modes app" });
  name(app.appId, "appId"), name(app.appKey, "appKey"), name(app.serverKey, "serverKey");
  const server = { authorization: `Bearer ${app.serverKey}` };
  const sdk = { "x-app-key": app.appKey };
  const base = `/v1/apps/${app.appId}`;

  await record("read app", "GET", base, { headers: admin });
  await record("define segment", "PUT", `${base}/segments/pro`, {
    headers: server,
    body: { name: "Pro", rule: { all: [{ attribute: "plan", op: "eq", value: "pro" }] } },
  });
  // A numeric-looking userId and attribute values must come back exactly as sent.
  const first = await record("register", "POST", "/v1/sdk/installations", {
    headers: sdk,
    body: {
      token: tok(1),
      environment: "production",
      userId: "123",
      attributes: { plan: "pro", appVersion: "2.1.0", build: "007", score: 3, beta: true },
    },
  });
  const id1 = name(first.body.installationId, "inst1");
  const secret1 = name(first.body.installationSecret, "secret1");
  await record("refresh", "POST", "/v1/sdk/installations", {
    headers: { ...sdk, authorization: `Bearer ${secret1}` },
    body: { installationId: id1, token: tok(1), environment: "production" },
  });
  const second = await record("second device", "POST", "/v1/sdk/installations", {
    headers: sdk,
    body: { token: tok(2), environment: "development", userId: "123", attributes: { plan: "pro" } },
  });
  name(second.body.installationId, "inst2"), name(second.body.installationSecret, "secret2");
  await record("patch attributes", "PATCH", `/v1/sdk/installations/${id1}`, {
    headers: { ...sdk, authorization: `Bearer ${secret1}` },
    body: { attributes: { plan: "pro", appVersion: "2.2.0", build: "007", score: 3, beta: true } },
  });
  await record("wrong secret", "PATCH", `/v1/sdk/installations/${id1}`, {
    headers: { ...sdk, authorization: "Bearer not-the-secret" },
    body: { pushAuthorization: "denied" },
  });
  await record("read installation", "GET", `${base}/installations/${id1}`, { headers: server });
  const user = await record("read user", "GET", `${base}/users/123`, { headers: server });
  // With one fixed clock both devices were seen at the same instant; their order is not the point.
  user.body.installations?.sort((a: { token: string }, b: { token: string }) =>
    a.token.localeCompare(b.token)
  );
  await record("upload members", "POST", `${base}/segments/pro/members`, {
    headers: server,
    body: { add: ["123", "456"] },
  });
  await record("read segment", "GET", `${base}/segments/pro`, { headers: server });
  await record("list segments", "GET", `${base}/segments`, { headers: server });
  await record("unknown installation", "GET", `${base}/installations/inst_nope`, {
    headers: server,
  });
  await record("bad server key", "GET", `${base}/segments`, {
    headers: { authorization: "Bearer sk_wrong" },
  });

  let text = JSON.stringify(steps);
  for (const [value, placeholder] of secrets) text = text.replaceAll(value, placeholder);
  return JSON.parse(text);
}

Deno.test("the admin + SDK flow answers identically over TCP and over the REST gateway", async () => {
  const transcripts: Partial<Record<RedisModeName, Step[]>> = {};
  for (const mode of REDIS_MODES) {
    await withMode(mode, async (h) => {
      transcripts[mode] = await runFlow(h);
    });
  }
  const tcp = transcripts.tcp!;
  // The flow itself must have worked, so that agreement means something.
  assertEquals(
    tcp.map((s) => `${s.step} ${s.status}`),
    [
      "read app 200",
      "define segment 201",
      "register 201",
      "refresh 200",
      "second device 201",
      "patch attributes 200",
      "wrong secret 401",
      "read installation 200",
      "read user 200",
      "upload members 200",
      "read segment 200",
      "list segments 200",
      "unknown installation 404",
      "bad server key 401",
    ],
  );
  // deno-lint-ignore no-explicit-any
  const body = (step: string): any => tcp.find((s) => s.step === step)!.body;
  assertEquals(body("read installation").userId, "123");
  assertEquals(body("read installation").attributes, {
    plan: "pro",
    appVersion: "2.2.0",
    build: "007",
    score: 3,
    beta: true,
  });
  assertEquals(body("read user").installations.length, 2);
  assertEquals(body("read segment").users, 2);
  assertEquals(body("read segment").reachable, { production: 1, development: 1 });
  assertEquals(transcripts.rest, tcp);
});

Deno.test("HGETALL is Upstash's flat array on the gateway wire and one object to domain code in every mode", async () => {
  const results: Partial<Record<RedisModeName, unknown>> = {};
  for (const mode of REDIS_MODES) {
    await withMode(mode, async (h) => {
      const redis = h.services.redis;
      await redis.hset("{modes}:h", { userId: "123", build: "007", json: '{"a":1}' });
      const pipe = redis.pipeline();
      pipe.hgetall("{modes}:h");
      pipe.hgetall("{modes}:missing");
      const tx = redis.multi();
      tx.hgetall("{modes}:h");
      results[mode] = {
        single: await redis.hgetall("{modes}:h"),
        missing: await redis.hgetall("{modes}:missing"),
        pipeline: await pipe.exec(),
        transaction: await tx.exec(),
      };
      if (h.gatewayUrl) {
        const res = await fetch(h.gatewayUrl, {
          method: "POST",
          headers: { authorization: `Bearer ${GATEWAY_TOKEN}` },
          body: JSON.stringify(["HGETALL", "{modes}:h"]),
        });
        const wire = await res.json();
        assertOk(Array.isArray(wire.result), `gateway HGETALL: ${JSON.stringify(wire)}`);
        assertEquals(wire.result, ["userId", "123", "build", "007", "json", '{"a":1}']);
      }
    });
  }
  const hash = { userId: "123", build: "007", json: '{"a":1}' };
  assertEquals(results.tcp, {
    single: hash,
    missing: {},
    pipeline: [hash, {}],
    transaction: [hash],
  });
  assertEquals(results.rest, results.tcp);
});
