import { daysUntilExpiry, parseCertificate } from "../../../lib/apns/certificate.ts";
import { ValidationFailed } from "../../../lib/errors.ts";
import { assertEquals, assertOk, assertThrows } from "../../support/assert.ts";
import { createTestCa } from "../../support/test_ca.ts";

Deno.test("parseCertificate reads subject and expiry", async () => {
  const ca = await createTestCa();
  try {
    const fresh = parseCertificate((await ca.issueClient("com.example.cert")).certPem);
    assertEquals(fresh.subject, "com.example.cert");
    assertOk(fresh.notAfter > Date.now());
    assertEquals(daysUntilExpiry(fresh), 1);
    const old = parseCertificate((await ca.issueClient("old", { days: -1 })).certPem);
    assertOk(old.notAfter < Date.now());
    assertOk(daysUntilExpiry(old) < 0);
    assertThrows(() => parseCertificate("nope"), ValidationFailed);
  } finally {
    await ca.cleanup();
  }
});
