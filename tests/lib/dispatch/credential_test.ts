import { assertEquals, assertOk } from "../../support/assert.ts";
import { startHarness } from "../../support/harness.ts";
import { appCredentialSource } from "../../../lib/dispatch/mod.ts";

Deno.test("appCredentialSource chooses the app's token credential, decrypts it once while unchanged, and a refusal is recorded and drops it", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp({ bundleId: "com.example.credential" });
    let opened = 0;
    const apps = {
      ...h.services.apps,
      credentials: (record: Parameters<typeof h.services.apps.credentials>[0]) => {
        opened++;
        return h.services.apps.credentials(record);
      },
    };
    const source = appCredentialSource(apps);
    const first = await source.load(app.appId);
    assertEquals(first.bundleId, "com.example.credential");
    assertEquals(first.credential.kind, "token");
    assertOk(first.credential.kind === "token" && first.credential.teamId === app.key.teamId);
    await source.load(app.appId);
    assertEquals(opened, 1, "decrypted once while the stored credential is unchanged");

    await source.refused(app.appId, { reason: "InvalidProviderToken", message: "check the key" });
    const record = await h.services.apps.get(app.appId);
    assertEquals(record.credentialError?.reason, "InvalidProviderToken");
    await source.load(app.appId);
    assertEquals(opened, 2, "a refused credential is not reused");
  } finally {
    await h.stop();
  }
});
