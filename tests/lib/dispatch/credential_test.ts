import { assertEquals, assertOk } from "../../support/assert.ts";
import { startHarness } from "../../support/harness.ts";
import { appCredentialSource } from "../../../lib/dispatch/mod.ts";

Deno.test("appCredentialSource chooses the app's token credential, reuses it for cacheMs, and a refusal is recorded and drops it", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp({ bundleId: "com.example.credential" });
    let now = 1_000;
    let opened = 0;
    const apps = {
      ...h.services.apps,
      credentials: (record: Parameters<typeof h.services.apps.credentials>[0]) => {
        opened++;
        return h.services.apps.credentials(record);
      },
    };
    const source = appCredentialSource(apps, { cacheMs: 5_000, now: () => now });
    const first = await source.load(app.appId);
    assertEquals(first.bundleId, "com.example.credential");
    assertEquals(first.credential.kind, "token");
    assertOk(first.credential.kind === "token" && first.credential.teamId === app.key.teamId);
    await source.load(app.appId);
    assertEquals(opened, 1, "reused within cacheMs");
    now += 5_001;
    await source.load(app.appId);
    assertEquals(opened, 2, "opened again once cacheMs passed");

    await source.refused(app.appId, { reason: "InvalidProviderToken", message: "check the key" });
    const view = (await h.call("GET", `/v1/apps/${app.appId}`, {
      headers: { authorization: `Bearer ${app.serverKey}` },
    })).body;
    assertEquals(view.credentialError.reason, "InvalidProviderToken");
    await source.load(app.appId);
    assertEquals(opened, 3, "a refused credential is not reused");
  } finally {
    await h.stop();
  }
});
