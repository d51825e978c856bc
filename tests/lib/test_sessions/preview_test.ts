import { createRelay } from "../../../lib/apns/relay.ts";
import { appCredentialSource, createDispatcher } from "../../../lib/dispatch/mod.ts";
import { createPreviewSender } from "../../../lib/test_sessions/preview.ts";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { startHarness } from "../../support/harness.ts";
import { startMockApns } from "../../support/mock_apns.ts";

Deno.test("createPreviewSender pushes to each installation in its environment and applies APNs feedback", async () => {
  const h = await startHarness();
  const mock = await startMockApns();
  const relay = createRelay({
    redis: h.services.redis,
    transport: { hosts: mock.hosts, caPem: mock.caPem, maxAttempts: 1 },
  });
  try {
    const app = await h.createTestApp({ bundleId: "com.example.preview" });
    await mock.addKey(app.key.keyId, app.key.teamId, app.key.publicKey);
    const { registry } = h.services;
    const register = async (token: string, environment: "production" | "development") => {
      const result = await registry.register(app.appId, { token, environment });
      return result.installationId;
    };
    const devToken = "d".repeat(64);
    const goneToken = "e".repeat(64);
    const dev = await register(devToken, "development");
    const gone = await register(goneToken, "production");
    mock.device(devToken, { environment: "development", topic: "com.example.preview" });
    mock.script(goneToken, { status: 410, reason: "Unregistered", timestamp: Date.now() + 60_000 });

    const dispatcher = createDispatcher({
      relay,
      credentials: appCredentialSource(h.services.apps),
      registry,
    });
    const send = createPreviewSender({ apps: h.services.apps, registry, dispatcher });
    const results = await send(app.appId, [dev, gone, "missing_installation"], {
      notification: { title: "Preview", body: "Hello" },
    });
    assertEquals(results[0].installationId, dev);
    assertEquals(results[0].status, "accepted");
    assertOk(results[0].apnsId);
    assertEquals(results[1], {
      installationId: gone,
      status: "failed",
      ...(results[1].apnsId ? { apnsId: results[1].apnsId } : {}),
      reason: "Unregistered",
    });
    assertEquals(results[2].status, "skipped");

    const pushed = mock.accepted.filter((p) => p.token === devToken);
    assertEquals(pushed.length, 1);
    assertEquals(pushed[0].environment, "development");
    assertEquals(pushed[0].headers["apns-topic"], "com.example.preview");
    assertEquals(
      (pushed[0].payload as { aps: { alert: { title: string } } }).aps.alert.title,
      "Preview",
    );
    assertEquals((await registry.get(app.appId, gone))?.status, "unregistered");
  } finally {
    await relay.close();
    await mock.close();
    await h.stop();
  }
});
