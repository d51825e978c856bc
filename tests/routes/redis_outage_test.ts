/**
 * Redis going away: admin, SDK and readiness calls answer 503 `unavailable` promptly (no hang),
 * liveness stays 200, and after redis-server restarts on the same port with the same AOF the
 * app recovers by itself with its data intact. Run in both network modes.
 */
import { freePort, type RedisServer, startRedisServer } from "../../lib/redis/mod.ts";
import { REDIS_UNREACHABLE } from "../../lib/errors.ts";
import { assertEquals, assertOk } from "../support/assert.ts";
import { ADMIN_TOKEN, type Harness, type TestApp } from "../support/harness.ts";
import { REDIS_MODES, startModeHarness } from "../support/redis_modes.ts";
import { waitFor } from "../support/redis_server.ts";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** A request during the outage must be answered within this; a hang fails the test. */
const ANSWER_WITHIN_MS = 10_000;

const tok = (n: number) => n.toString(16).padStart(64, "0");

/** Resolves with `promise`, or fails once `ms` have passed. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function calls(h: Harness, app: TestApp) {
  return {
    getApp: () => h.call("GET", `/v1/apps/${app.appId}`, { headers: admin }),
    register: (n: number) =>
      h.call("POST", "/v1/sdk/installations", {
        headers: { "x-app-key": app.appKey },
        body: { token: tok(n), environment: "production", attributes: { appVersion: "1.0.0" } },
      }),
    getInstallation: (id: string) =>
      h.call("GET", `/v1/apps/${app.appId}/installations/${id}`, {
        headers: { authorization: `Bearer ${app.serverKey}` },
      }),
    readyz: () => h.call("GET", "/readyz"),
    healthz: () => h.call("GET", "/healthz"),
  };
}

for (const mode of REDIS_MODES) {
  Deno.test(`Redis outage (${mode} mode): 503 unavailable promptly, /healthz 200, then recovery with data kept`, async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "edgepush-outage-" });
    const port = freePort();
    const servers: RedisServer[] = [await startRedisServer({ dataDir, port })];
    const h = await startModeHarness(mode, servers[0]);
    try {
      const app = await h.createTestApp({ name: "Outage app" });
      const api = calls(h, app);
      const before = await api.register(1);
      assertEquals(before.status, 201);
      const installationId: string = before.body.installationId;

      await servers[0].stop();

      const down = {
        "GET /v1/apps/:appId": api.getApp,
        "POST /v1/sdk/installations": () => api.register(2),
        "GET /readyz": api.readyz,
      };
      for (const [name, request] of Object.entries(down)) {
        const res = await within(ANSWER_WITHIN_MS, name, request());
        assertEquals(res.status, 503, `${name}: ${JSON.stringify(res.body)}`);
        assertEquals(res.body?.error?.code, "unavailable", `${name}: ${JSON.stringify(res.body)}`);
        assertEquals(res.body.error.message, REDIS_UNREACHABLE, "no client-library internals");
        assertEquals(res.headers.get("retry-after"), "1");
        assertOk(
          res.headers.get("content-type")?.startsWith("application/json"),
          `${name} answers JSON`,
        );
      }
      const live = await within(ANSWER_WITHIN_MS, "GET /healthz", api.healthz());
      assertEquals(live.status, 200);

      servers.push(await startRedisServer({ dataDir, port }));
      await waitFor(async () => (await api.readyz()).status === 200, {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: "/readyz 200 after redis-server restarted",
      });

      const got = await api.getApp();
      assertEquals(got.status, 200);
      assertEquals(got.body.name, "Outage app");
      const inst = await api.getInstallation(installationId);
      assertEquals(inst.status, 200, "an installation from before the outage survives (AOF)");
      assertEquals(inst.body.token, tok(1));
      assertEquals(inst.body.status, "active");
      const after = await api.register(3);
      assertEquals(after.status, 201);
      assertEquals((await api.getInstallation(after.body.installationId)).body.token, tok(3));
    } finally {
      await h.stop();
      for (const server of servers) await server.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  });
}
