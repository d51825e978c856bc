import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { ADMIN_TOKEN, startHarness } from "../support/harness.ts";
import { hexToken, register, serverHeaders } from "../support/installation_calls.ts";
import { startMockApns } from "../support/mock_apns.ts";
import { createTestCa } from "../support/test_ca.ts";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

// deno-lint-ignore no-explicit-any
const byName = (body: any) => Object.fromEntries(body.checks.map((c: any) => [c.check, c]));

Deno.test("GET /v1/apps lists every app by name, without secrets, for the admin only", async () => {
  const h = await startHarness();
  try {
    const b = await h.createTestApp({ name: "Beta" });
    const a = await h.createTestApp({ name: "Alpha" });
    const res = await h.call("GET", "/v1/apps", { headers: admin });
    assertEquals(res.status, 200);
    // deno-lint-ignore no-explicit-any
    assertEquals(res.body.apps.map((x: any) => [x.name, x.appId]), [
      ["Alpha", a.appId],
      ["Beta", b.appId],
    ]);
    assertEquals(JSON.stringify(res.body).includes(a.serverKey), false);
    assertEquals(JSON.stringify(res.body).includes("PRIVATE KEY"), false);
    assertEquals((await h.call("GET", "/v1/apps", { headers: serverHeaders(a) })).status, 401);
    assertEquals((await h.call("GET", "/v1/apps?x=1", { headers: admin })).status, 400);
  } finally {
    await h.stop();
  }
});

Deno.test("GET /v1/apps/:appId/installations/:id/diagnosis passes a healthy device and explains a denied one", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const other = await h.createTestApp();
    const ok = await register(h, app, { token: hexToken(1), environment: "production" });
    const denied = await register(h, app, {
      token: hexToken(2),
      environment: "development",
      pushAuthorization: "denied",
    });
    const path = (id: string) => `/v1/apps/${app.appId}/installations/${id}/diagnosis`;
    const good = await h.call("GET", path(ok.body.installationId), { headers: serverHeaders(app) });
    assertEquals(good.status, 200, JSON.stringify(good.body));
    assertEquals(good.body.installationId, ok.body.installationId);
    assertEquals(good.body.ok, true);
    assertEquals(Object.keys(byName(good.body)), [
      "credential_for_environment",
      "credential_valid",
      "token_active",
      "notifications_allowed",
      "recently_seen",
      "recent_sends",
    ]);
    const bad = await h.call("GET", path(denied.body.installationId), {
      headers: serverHeaders(app),
    });
    assertEquals(bad.body.ok, false);
    const checks = byName(bad.body);
    assertEquals(checks.notifications_allowed.ok, false);
    assertStringIncludes(checks.notifications_allowed.message, "Settings");
    assertEquals(checks.token_active.ok, true);

    assertEquals(
      (await h.call("GET", path("nope"), { headers: serverHeaders(app) })).status,
      404,
    );
    assertEquals(
      (await h.call("GET", path(ok.body.installationId), { headers: serverHeaders(other) }))
        .status,
      403,
    );
    assertEquals(
      (await h.call("GET", `${path(ok.body.installationId)}?limit=3`, {
        headers: serverHeaders(app),
      })).status,
      400,
    );
  } finally {
    await h.stop();
  }
});

Deno.test("GET …/diagnosis explains segment membership, an invalidated token and the sends that targeted it", async () => {
  const mock = await startMockApns();
  const h = await startHarness({
    services: {
      apns: {
        productionHost: mock.hosts.production,
        developmentHost: mock.hosts.development,
        caPem: mock.caPem,
      },
    },
  });
  try {
    const app = await h.createTestApp();
    await mock.addKey(app.key.keyId, app.key.teamId, app.key.publicKey);
    const inst = await register(h, app, {
      token: hexToken(7),
      environment: "production",
      userId: "u-7",
      attributes: { locale: "fr_FR" },
    });
    const id = inst.body.installationId;
    const seg = `/v1/apps/${app.appId}/segments/fr`;
    await h.call("PUT", seg, {
      headers: serverHeaders(app),
      body: { name: "French", rule: { all: [{ attribute: "locale", op: "eq", value: "de_DE" }] } },
    });
    await h.call("POST", `${seg}/members`, {
      headers: serverHeaders(app),
      body: { add: ["u-7"] },
    });
    const path = `/v1/apps/${app.appId}/installations/${id}/diagnosis`;
    let res = await h.call("GET", `${path}?segmentId=fr`, { headers: serverHeaders(app) });
    assertEquals(byName(res.body).segment_membership.ok, false);
    assertStringIncludes(byName(res.body).segment_membership.message, "rule");
    res = await h.call("GET", `${path}?segmentId=missing`, { headers: serverHeaders(app) });
    assertStringIncludes(byName(res.body).segment_membership.message, "no segment");

    // APNs says the app was uninstalled: the send fails and the token is invalidated.
    mock.device(hexToken(7), { unregisteredAt: Date.now() + 60_000 });
    const send = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: serverHeaders(app),
      body: { audience: { installationIds: [id] }, notification: { title: "Hi" }, wait: true },
    });
    assertEquals(send.status, 200, JSON.stringify(send.body));
    res = await h.call("GET", path, { headers: serverHeaders(app) });
    const checks = byName(res.body);
    assertEquals(res.body.ok, false);
    assertEquals(checks.token_active.ok, false);
    assertStringIncludes(checks.token_active.message, "unregistered");
    assertStringIncludes(checks.token_active.message, "uninstalled");
    assertEquals(checks.recent_sends.ok, false);
    assertStringIncludes(checks.recent_sends.message, send.body.sendId);
    assertOk(checks.recent_sends.message.includes("not delivered"));
  } finally {
    await h.stop();
    await mock.close();
  }
});

Deno.test("diagnosis of a certificate-only app names the environments its certificate covers", async () => {
  const h = await startHarness();
  const ca = await createTestCa();
  try {
    const cert = await ca.issueApns({ bundleId: "com.example.app", environments: ["development"] });
    const app = await h.createTestApp({
      apns: undefined,
      certificate: { p12: await cert.p12("") },
    });
    const dev = await register(h, app, { token: hexToken(1), environment: "development" });
    const prod = await register(h, app, { token: hexToken(2), environment: "production" });
    const diagnose = async (id: string) =>
      byName(
        (await h.call("GET", `/v1/apps/${app.appId}/installations/${id}/diagnosis`, {
          headers: serverHeaders(app),
        })).body,
      );
    assertEquals((await diagnose(dev.body.installationId)).credential_for_environment.ok, true);
    const wrong = (await diagnose(prod.body.installationId)).credential_for_environment;
    assertEquals(wrong.ok, false);
    assertStringIncludes(wrong.message, "covers only development, not production");
    assertStringIncludes(wrong.message, "BadCertificateEnvironment");
  } finally {
    await ca.cleanup();
    await h.stop();
  }
});
