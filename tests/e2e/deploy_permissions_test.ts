/**
 * The product in REST mode runs with exactly the permissions docs/operations.md documents for a
 * deploy: `--allow-net --allow-env --allow-read`, no `--allow-sys`, no `--allow-write`, even with
 * APNS_CA_FILE set. Through them: a registration and a `wait:true` send to the mock APNs.
 */
import { freePort } from "../../lib/redis/mod.ts";
import { createGateway, createTcpRequester } from "../../lib/redis/mod.ts";
import { generateMasterKey } from "../../lib/crypto/sealed_box.ts";
import { assertEquals, assertOk } from "../support/assert.ts";
import { generateApnsKey } from "../support/harness.ts";
import { startMockApns } from "../support/mock_apns.ts";
import { startTestRedis, waitFor } from "../support/redis_server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** The permissions docs/operations.md gives for REST mode. */
export const DEPLOY_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read"];
const GATEWAY_TOKEN = "deploy-permissions-gateway-0123456789";
const ADMIN_TOKEN = "deploy-permissions-admin-0123456789";

Deno.test("REST mode with --allow-net --allow-env --allow-read registers and sends wait:true", async () => {
  const redis = await startTestRedis();
  const requester = createTcpRequester(redis.url);
  const gateway = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    createGateway({ requester, token: GATEWAY_TOKEN }).fetch,
  );
  const mock = await startMockApns();
  const dir = await Deno.makeTempDir({ prefix: "edgepush-deploy-" });
  const key = await generateApnsKey();
  await mock.addKey(key.keyId, key.teamId, key.publicKey);
  await Deno.writeTextFile(`${dir}/ca.pem`, mock.caPem);
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...DEPLOY_PERMISSIONS, "main.ts"],
    cwd: ROOT,
    env: {
      PORT: String(port),
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${gateway.addr.port}`,
      UPSTASH_REDIS_REST_TOKEN: GATEWAY_TOKEN,
      ADMIN_TOKEN,
      MASTER_KEY: generateMasterKey(),
      APNS_HOST_PRODUCTION: mock.hosts.production,
      APNS_HOST_DEVELOPMENT: mock.hosts.development,
      APNS_CA_FILE: `${dir}/ca.pem`,
      LOG_LEVEL: "warn",
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([child.stdout, child.stderr].map((s) => new Response(s).text()));
  const api = `http://127.0.0.1:${port}`;
  const call = async (path: string, headers: Record<string, string>, body: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  try {
    await waitFor(async () => {
      const res = await fetch(`${api}/readyz`).catch(() => null);
      await res?.body?.cancel();
      return res?.status === 200;
    }, { timeoutMs: 30_000, intervalMs: 50, what: "edgepush /readyz" });
    const app = await call("/v1/apps", { authorization: `Bearer ${ADMIN_TOKEN}` }, {
      name: "Deploy",
      bundleId: "com.example.deploy",
      apns: { teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKeyPem },
    });
    assertEquals(app.status, 201);
    const token = "c".repeat(64);
    const installation = await call("/v1/sdk/installations", { "x-app-key": app.body.appKey }, {
      token,
      environment: "development",
    });
    assertEquals(installation.status, 201);
    const send = await call(
      `/v1/apps/${app.body.appId}/sends`,
      { authorization: `Bearer ${app.body.serverKey}` },
      {
        audience: { installationIds: [installation.body.installationId] },
        notification: { title: "Deployed", body: "with three permissions" },
        wait: true,
      },
    );
    assertEquals(send.status, 200, JSON.stringify(send.body));
    assertEquals(send.body.results[0].status, "accepted");
    assertEquals(mock.countFor(token), 1);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await gateway.shutdown();
    await requester.close();
    await mock.close();
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
  const [stdout, stderr] = await output;
  assertOk(!/NotCapable|Requires .* access/.test(stdout + stderr), stdout + stderr);
});
