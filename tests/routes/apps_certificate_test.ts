import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { ADMIN_TOKEN, startHarness } from "../support/harness.ts";
import { createTestCa } from "../support/test_ca.ts";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const DAY = 86_400_000;

Deno.test("POST /v1/apps creates a certificate-only app from a .p12 and shows what it allows", async () => {
  const h = await startHarness();
  const ca = await createTestCa();
  try {
    const cert = await ca.issueApns({
      bundleId: "com.example.app",
      topics: ["com.example.app", "com.example.app.voip"],
      endDays: 200,
    });
    const app = await h.createTestApp({
      apns: undefined,
      certificate: { p12: await cert.p12("from keychain"), password: "from keychain" },
    });
    const view = (await h.call("GET", `/v1/apps/${app.appId}`, { headers: admin })).body;
    assertEquals(view.apns, null);
    assertEquals(view.certificate.subject, "Apple Push Services: com.example.app");
    assertEquals(view.certificate.environments, ["development", "production"]);
    assertEquals(view.certificate.topics, ["com.example.app", "com.example.app.voip"]);
    assertEquals(view.certificate.daysLeft, 199);
    assertOk(/^[0-9a-f]{64}$/.test(view.certificate.fingerprint));
    assertOk(Date.parse(view.certificate.notBefore) < Date.now());
    assertEquals(view.warnings, []);
    const raw = JSON.stringify(
      await h.testRedis.redis.hgetall(`ep:v1:{${app.appId}}:app`),
    );
    assertOk(!raw.includes("PRIVATE KEY") && !raw.includes("from keychain"), "sealed at rest");
    assertOk(!JSON.stringify(view).includes("PRIVATE KEY"));
  } finally {
    await ca.cleanup();
    await h.stop();
  }
});

Deno.test("POST /v1/apps without any credential is a 400 naming apns and certificate", async () => {
  const h = await startHarness();
  try {
    const before = await h.testRedis.redis.dbsize();
    const res = await h.call("POST", "/v1/apps", {
      headers: admin,
      body: { name: "x", bundleId: "com.example.app" },
    });
    assertEquals(res.status, 400);
    const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
    assertEquals(paths, ["apns", "certificate"]);
    assertEquals(await h.testRedis.redis.dbsize(), before);
  } finally {
    await h.stop();
  }
});

Deno.test("PATCH /v1/apps/:appId adds, replaces and removes credentials; the last one is a 409", async () => {
  const h = await startHarness();
  const ca = await createTestCa();
  try {
    const app = await h.createTestApp();
    const first = await ca.issueApns({ bundleId: "com.example.app" });
    const second = await ca.issueApns({
      bundleId: "com.example.app",
      environments: ["production"],
    });
    const patch = (body: unknown) =>
      h.call("PATCH", `/v1/apps/${app.appId}`, { headers: admin, body });

    const added = await patch({
      certificate: { certificate: first.certPem, privateKey: first.keyPem },
    });
    assertEquals(added.status, 200, JSON.stringify(added.body));
    assertOk(added.body.apns && added.body.certificate, "both credentials");
    const replaced = await patch({ certificate: { p12: await second.p12("") } });
    assertEquals(replaced.body.certificate.environments, ["production"]);
    assertOk(replaced.body.certificate.fingerprint !== added.body.certificate.fingerprint);

    const noToken = await patch({ apns: null });
    assertEquals(noToken.status, 200);
    assertEquals(noToken.body.apns, null);
    const last = await patch({ certificate: null });
    assertEquals(last.status, 409);
    assertEquals(last.body.error.code, "conflict");
    assertStringIncludes(last.body.error.message, "credential");
    const still = (await h.call("GET", `/v1/apps/${app.appId}`, { headers: admin })).body;
    assertEquals(still.certificate.fingerprint, replaced.body.certificate.fingerprint);

    const key = app.key;
    const tokenBack = await patch({
      apns: { teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKeyPem },
      certificate: null,
    });
    assertEquals(tokenBack.status, 200);
    assertEquals(tokenBack.body.certificate, null);
    assertEquals(tokenBack.body.apns.keyId, key.keyId);
  } finally {
    await ca.cleanup();
    await h.stop();
  }
});

Deno.test("every refused certificate upload is a 400 that changes nothing", async () => {
  const h = await startHarness();
  const ca = await createTestCa();
  const rogue = await createTestCa();
  try {
    const app = await h.createTestApp();
    const before = (await h.call("GET", `/v1/apps/${app.appId}`, { headers: admin })).body;
    const good = await ca.issueApns({ bundleId: "com.example.app" });
    const other = await ca.issueApns({ bundleId: "com.example.app" });
    const wrongApp = await ca.issueApns({ bundleId: "com.example.other" });
    const cases: Array<[unknown, string]> = [
      [{ p12: await good.p12("right"), password: "wrong" }, "password is wrong"],
      [{ p12: await good.p12("pw", { withoutKey: true }), password: "pw" }, "no private key"],
      [{ certificate: good.keyPem, privateKey: good.keyPem }, "not a certificate"],
      [{ certificate: good.certPem, privateKey: other.keyPem }, "does not belong"],
      [{
        p12: await (await ca.issueApns({ bundleId: "com.example.app", startDays: -9, endDays: -2 }))
          .p12(""),
      }, "expired"],
      [
        { p12: await (await ca.issueApns({ bundleId: "com.example.app", startDays: 3 })).p12("") },
        "not valid until",
      ],
      [{
        p12: await (await rogue.issueApns({ bundleId: "com.example.app", environments: [] })).p12(
          "",
        ),
      }, "not an Apple Push Notification service certificate"],
      [
        { p12: await wrongApp.p12("") },
        "com.example.other, not for this app's bundle id com.example.app",
      ],
      [{ p12: await good.p12(""), certificate: good.certPem }, "Unrecognized key"],
    ];
    for (const [certificate, needle] of cases) {
      const res = await h.call("PATCH", `/v1/apps/${app.appId}`, {
        headers: admin,
        body: { certificate },
      });
      assertEquals(res.status, 400, needle);
      assertEquals(res.body.error.code, "validation_failed");
      assertStringIncludes(JSON.stringify(res.body.error), needle);
    }
    const created = await h.call("POST", "/v1/apps", {
      headers: admin,
      body: {
        name: "x",
        bundleId: "com.example.app",
        certificate: { p12: await wrongApp.p12("") },
      },
    });
    assertEquals(created.status, 400);
    const after = (await h.call("GET", `/v1/apps/${app.appId}`, { headers: admin })).body;
    assertEquals(after, before);
  } finally {
    await ca.cleanup();
    await rogue.cleanup();
    await h.stop();
  }
});

Deno.test("the app view warns 30 days ahead and after expiry; /metrics keeps its gauges", async () => {
  let clock = Date.now();
  const h = await startHarness({ services: { now: () => clock } });
  const ca = await createTestCa();
  try {
    const cert = await ca.issueApns({ bundleId: "com.example.app", endDays: 40 });
    clock = Date.now();
    const app = await h.createTestApp({ certificate: { p12: await cert.p12("") } });
    const view = async () =>
      (await h.call("GET", `/v1/apps/${app.appId}`, { headers: admin })).body;
    assertEquals((await view()).warnings, []);
    clock += 12 * DAY;
    const soon = await view();
    assertEquals(soon.warnings.map((w: { code: string }) => w.code), ["certificate_expires_soon"]);
    assertStringIncludes(soon.warnings[0].message, "days left");
    assertEquals(soon.certificate.daysLeft, 27);
    const metrics = await (await h.app.request("/metrics")).text();
    assertStringIncludes(metrics, `edgepush_apns_certificate_expiring{appId="${app.appId}"} 1`);
    assertStringIncludes(
      metrics,
      `edgepush_apns_certificate_expires_in_days{appId="${app.appId}"} 27`,
    );
    clock += 30 * DAY;
    const expired = await view();
    assertEquals(expired.warnings.map((w: { code: string }) => w.code), ["certificate_expired"]);
    assertOk(expired.certificate.daysLeft < 0);
  } finally {
    await ca.cleanup();
    await h.stop();
  }
});
