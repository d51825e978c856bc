import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { ADMIN_TOKEN, startHarness } from "../support/harness.ts";
import { createTestCa } from "../support/test_ca.ts";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

Deno.test("a certificate credential shows its expiry on the app and on /metrics 30 days ahead", async () => {
  const h = await startHarness();
  const ca = await createTestCa();
  try {
    const app = await h.createTestApp();
    const soon = await ca.issueClient("com.example.app", { days: 10 });
    const patched = await h.call("PATCH", `/v1/apps/${app.appId}`, {
      headers: admin,
      body: { certificate: { certificate: soon.certPem, privateKey: soon.keyPem } },
    });
    assertEquals(patched.status, 200, JSON.stringify(patched.body));
    const view = (await h.call("GET", `/v1/apps/${app.appId}`, { headers: admin })).body;
    const expiresAt = Date.parse(view.certificate.expiresAt);
    assertOk(expiresAt > Date.now() + 9 * 86_400_000 && expiresAt < Date.now() + 11 * 86_400_000);
    assertOk(!JSON.stringify(view).includes("PRIVATE KEY"), "no key in the view");

    const metrics = await (await h.app.request("/metrics")).text();
    assertStringIncludes(metrics, `edgepush_apns_certificate_expiring{appId="${app.appId}"} 1`);
    const days = metrics.match(
      new RegExp(`edgepush_apns_certificate_expires_in_days\\{appId="${app.appId}"\\} (-?\\d+)`),
    );
    assertOk(days && Number(days[1]) >= 9 && Number(days[1]) <= 10, metrics);
  } finally {
    await ca.cleanup();
    await h.stop();
  }
});

Deno.test("an expired certificate or a key from another certificate is refused and nothing changes", async () => {
  const h = await startHarness();
  const ca = await createTestCa();
  try {
    const app = await h.createTestApp();
    const before = (await h.call("GET", `/v1/apps/${app.appId}`, { headers: admin })).body;
    const expired = await ca.issueClient("com.example.app", { days: -1 });
    const a = await ca.issueClient("com.example.app");
    const b = await ca.issueClient("com.example.app");
    for (
      const [certificate, privateKey, needle] of [
        [expired.certPem, expired.keyPem, "expired"],
        [a.certPem, b.keyPem, "does not belong"],
      ]
    ) {
      const res = await h.call("PATCH", `/v1/apps/${app.appId}`, {
        headers: admin,
        body: { certificate: { certificate, privateKey } },
      });
      assertEquals(res.status, 400);
      assertEquals(res.body.error.code, "validation_failed");
      assertStringIncludes(res.body.error.message, needle);
    }
    const after = (await h.call("GET", `/v1/apps/${app.appId}`, { headers: admin })).body;
    assertEquals(after, before);
    assertEquals(after.certificate, null);
  } finally {
    await ca.cleanup();
    await h.stop();
  }
});
