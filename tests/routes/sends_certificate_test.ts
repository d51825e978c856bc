import { assertEquals, assertOk } from "../support/assert.ts";
import { ADMIN_TOKEN } from "../support/harness.ts";
import { waitFor } from "../support/redis_server.ts";
import { type ApnsCertOptions, createTestCa } from "../support/test_ca.ts";
import { type SendEnv, startSendEnv, token } from "../lib/sends/_env.ts";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const alert = { title: "Hello", body: "Certificates" };
const DAY = 86_400_000;

/** Makes the env's app certificate-only, with a certificate issued by the mock's CA. */
async function useCertificate(env: SendEnv, options: Partial<ApnsCertOptions> = {}) {
  const cert = await env.mock.ca.issueApns({ bundleId: env.app.bundleId, ...options });
  const res = await env.h.call("PATCH", `/v1/apps/${env.app.appId}`, {
    headers: admin,
    body: { apns: null, certificate: { p12: await cert.p12("pw"), password: "pw" } },
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.certificate.fingerprint as string;
}

function sendTo(env: SendEnv, body: Record<string, unknown>) {
  return env.h.call("POST", `/v1/apps/${env.app.appId}/sends`, { headers: env.auth, body });
}

Deno.test("a certificate-only app sends to development and production installations over mTLS", async () => {
  const env = await startSendEnv();
  try {
    const fingerprint = await useCertificate(env);
    const dev = await env.registerMany(20, { environment: "development" });
    const prod = await env.registerMany(20, { salt: 1, environment: "production" });
    const res = await sendTo(env, { audience: { all: true }, notification: alert });
    assertEquals(res.status, 202);
    const workers = env.startWorkers(1);
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed");
    await workers.stop();
    assertEquals(done.counts.accepted, dev.length + prod.length);
    assertEquals(done.warnings, []);
    const envs = env.mock.accepted.map((p) => p.environment);
    assertEquals(envs.filter((e) => e === "development").length, 20);
    assertEquals(envs.filter((e) => e === "production").length, 20);
    assertOk(
      env.mock.accepted.every((p) =>
        p.auth.kind === "certificate" && p.auth.fingerprint === fingerprint &&
        p.headers.authorization === undefined
      ),
    );

    const waited = await sendTo(env, {
      audience: { installationIds: [dev[0], prod[0]] },
      notification: alert,
      wait: true,
    });
    assertEquals(waited.status, 200);
    assertEquals(waited.body.results.map((r: { status: string }) => r.status), [
      "accepted",
      "accepted",
    ]);
  } finally {
    await env.stop();
  }
});

Deno.test("a credential changed with PATCH is what the very next push uses", async () => {
  const env = await startSendEnv();
  try {
    const [id] = await env.registerMany(1);
    const sendNow = async () => {
      const res = await sendTo(env, {
        audience: { installationIds: [id] },
        notification: alert,
        wait: true,
      });
      assertEquals(res.body.results[0].status, "accepted", JSON.stringify(res.body));
      return env.mock.accepted.at(-1)!.auth;
    };
    assertEquals((await sendNow()).kind, "token");
    // The first push decrypted and cached the token credential for 10 s; a change made through
    // this process drops it at once.
    const fingerprint = await useCertificate(env);
    const auth = await sendNow();
    assertEquals(auth.kind === "certificate" && auth.fingerprint, fingerprint);
    const key = env.app.key;
    const back = await env.h.call("PATCH", `/v1/apps/${env.app.appId}`, {
      headers: admin,
      body: { apns: { teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKeyPem } },
    });
    assertEquals(back.status, 200, JSON.stringify(back.body));
    assertEquals((await sendNow()).kind, "token");
  } finally {
    await env.stop();
  }
});

Deno.test("with both credentials token auth is used", async () => {
  const env = await startSendEnv();
  try {
    const cert = await env.mock.ca.issueApns({ bundleId: env.app.bundleId });
    const patched = await env.h.call("PATCH", `/v1/apps/${env.app.appId}`, {
      headers: admin,
      body: { certificate: { certificate: cert.certPem, privateKey: cert.keyPem } },
    });
    assertEquals(patched.status, 200);
    const [id] = await env.registerMany(1);
    const res = await sendTo(env, {
      audience: { installationIds: [id] },
      notification: alert,
      wait: true,
    });
    assertEquals(res.body.results[0].status, "accepted");
    assertEquals(env.mock.accepted[0].auth.kind, "token");
  } finally {
    await env.stop();
  }
});

Deno.test("a development-only certificate fails production recipients without a request or invalidation", async () => {
  const env = await startSendEnv();
  try {
    await useCertificate(env, { environments: ["development"] });
    await env.registerMany(10, { environment: "development" });
    const prod = await env.registerMany(15, { salt: 2, environment: "production" });
    const res = await sendTo(env, { audience: { all: true }, notification: alert });
    const workers = env.startWorkers(1);
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed");
    await workers.stop();
    assertEquals(done.counts.accepted, 10);
    assertEquals(done.counts.failed, 15);
    assertEquals(done.counts.invalidated, 0);
    assertEquals(done.counts.attempted, 10, "no APNs request for production recipients");
    assertEquals(done.failures, { BadCertificateEnvironment: 15 });
    assertEquals(env.mock.stats.requests, 10);
    const inst = await env.h.services.registry.get(env.app.appId, prod[0]);
    assertEquals(inst?.status, "active", "the token is not invalidated");
    const view = await env.h.call("GET", `/v1/apps/${env.app.appId}`, { headers: admin });
    assertEquals(view.body.credentialError, null, "not an error of the credential");
  } finally {
    await env.stop();
  }
});

Deno.test("a VoIP push with a certificate lacking .voip fails TopicDisallowed without a request", async () => {
  const env = await startSendEnv();
  try {
    await useCertificate(env);
    const [id] = await env.registerMany(1);
    const res = await sendTo(env, {
      audience: { installationIds: [id] },
      pushType: "voip",
      aps: {},
      wait: true,
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    assertEquals(res.body.results[0].status, "failed");
    assertEquals(res.body.results[0].reason, "TopicDisallowed");
    assertEquals(env.mock.stats.requests, 0);
  } finally {
    await env.stop();
  }
});

Deno.test("an expired certificate fails sends fast with ExpiredCertificate and warns on both views", async () => {
  let offset = 0;
  const env = await startSendEnv({ now: () => Date.now() + offset });
  try {
    await useCertificate(env, { endDays: 20 });
    await env.registerMany(5);
    const soon = await env.h.call("GET", `/v1/apps/${env.app.appId}`, { headers: admin });
    assertEquals(soon.body.warnings.map((w: { code: string }) => w.code), [
      "certificate_expires_soon",
    ]);
    offset = 21 * DAY;
    const res = await sendTo(env, { audience: { all: true }, notification: alert });
    const workers = env.startWorkers(1);
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "failed");
    await workers.stop();
    assertEquals(done.failures, { ExpiredCertificate: 5 });
    assertEquals(done.counts.attempted, 0);
    assertEquals(done.warnings.map((w) => w.code), ["certificate_expired"]);
    assertEquals(env.mock.stats.requests, 0);
    const app = await env.h.call("GET", `/v1/apps/${env.app.appId}`, { headers: admin });
    assertEquals(app.body.credentialError.reason, "ExpiredCertificate");
    assertEquals(app.body.warnings.map((w: { code: string }) => w.code), ["certificate_expired"]);
  } finally {
    await env.stop();
  }
});

Deno.test("a certificate renewed during a campaign: new connections use it, old ones close, nobody lost or sent twice", async () => {
  const env = await startSendEnv();
  try {
    const oldFingerprint = await useCertificate(env, { keyType: "ec", endDays: 20 });
    const n = 1500;
    await env.registerMany(n / 2, { environment: "development" });
    await env.registerMany(n / 2, { salt: 3, environment: "production" });
    const res = await sendTo(env, {
      audience: { all: true },
      notification: alert,
      ratePerSecond: 500,
    });
    const workers = env.startWorkers(2);
    await waitFor(() => env.mock.stats.accepted >= 150 || null, { timeoutMs: 10_000 });
    const newFingerprint = await useCertificate(env, { keyType: "ec", endDays: 365 });
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "completed", 30_000);
    await workers.stop();
    assertEquals(done.counts.accepted, n);
    assertEquals(done.counts.failed + done.counts.skipped, 0);
    for (let i = 0; i < n / 2; i++) {
      assertEquals(env.mock.countFor(token(i)), 1);
      assertEquals(env.mock.countFor(token(i, 3)), 1);
    }
    const used = env.mock.accepted.map((p) =>
      p.auth.kind === "certificate" ? p.auth.fingerprint : ""
    );
    const lastOld = used.lastIndexOf(oldFingerprint);
    const firstNew = used.indexOf(newFingerprint);
    assertOk(lastOld >= 0 && firstNew > 0, "both certificates sent");
    assertOk(
      used.slice(-100).every((f) => f === newFingerprint),
      "the campaign ends on the new one",
    );
    await waitFor(() => !env.mock.openSessionsByCertificate().has(oldFingerprint) || null, {
      what: "the old certificate's connections to close",
    });
  } finally {
    await env.stop();
  }
});

Deno.test("a certificate whose TLS handshake APNs refuses fails the send with a credential error on the app", async () => {
  const env = await startSendEnv({ mock: { refuseUnknownClients: true } });
  const rogue = await createTestCa();
  try {
    // Readable, an APNs certificate for the app, but issued by a CA APNs does not trust.
    const stranger = await rogue.issueApns({ bundleId: env.app.bundleId, keyType: "ec" });
    const patched = await env.h.call("PATCH", `/v1/apps/${env.app.appId}`, {
      headers: admin,
      body: { apns: null, certificate: { p12: await stranger.p12("") } },
    });
    assertEquals(patched.status, 200);
    await env.registerMany(3);
    const res = await sendTo(env, { audience: { all: true }, notification: alert });
    const workers = env.startWorkers(1);
    const done = await env.waitSend(res.body.sendId, (v) => v.status === "failed");
    await workers.stop();
    assertEquals(done.error?.reason, "BadCertificate");
    assertEquals(done.counts.accepted, 0);
    assertEquals(env.mock.stats.accepted, 0);
    const app = await env.h.call("GET", `/v1/apps/${env.app.appId}`, { headers: admin });
    assertEquals(app.body.credentialError.reason, "BadCertificate");
    assertOk(app.body.credentialError.message.includes("refused the TLS handshake"));
  } finally {
    await rogue.cleanup();
    await env.stop();
  }
});
