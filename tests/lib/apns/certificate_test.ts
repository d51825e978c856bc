import {
  certificateRefusal,
  certificateWarnings,
  daysLeft,
  parseCertificate,
} from "../../../lib/apns/certificate.ts";
import { ValidationFailed } from "../../../lib/errors.ts";
import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { createTestCa } from "../../support/test_ca.ts";

const DAY = 86_400_000;

async function opensslFingerprint(pem: string): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args: ["x509", "-noout", "-fingerprint", "-sha256"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = out.stdin.getWriter();
  await writer.write(new TextEncoder().encode(pem));
  await writer.close();
  const text = new TextDecoder().decode((await out.output()).stdout);
  return text.split("=")[1].trim().replaceAll(":", "").toLowerCase();
}

Deno.test("parseCertificate reads Apple's environments, topics, validity and fingerprint", async () => {
  const ca = await createTestCa();
  try {
    const both = await ca.issueApns({
      bundleId: "com.example.app",
      topics: ["com.example.app", "com.example.app.voip", "com.example.app.complication"],
      endDays: 200,
    });
    const { summary } = await parseCertificate(both.certPem);
    assertEquals(summary.subject, "Apple Push Services: com.example.app");
    assertEquals(summary.environments, ["development", "production"]);
    assertEquals(summary.topics, [
      "com.example.app",
      "com.example.app.voip",
      "com.example.app.complication",
    ]);
    assertEquals(summary.fingerprint, await opensslFingerprint(both.certPem));
    assertOk(Math.abs(Date.parse(summary.expiresAt) - (Date.now() + 200 * DAY)) < 60_000);
    assertOk(Math.abs(Date.parse(summary.notBefore) - (Date.now() - DAY)) < 60_000);

    const dev = await ca.issueApns({ bundleId: "com.example.dev", environments: ["development"] });
    const devSummary = (await parseCertificate(dev.certPem)).summary;
    assertEquals(devSummary.environments, ["development"]);
    assertEquals(devSummary.topics, ["com.example.dev"], "the UID alone without the extension");
    const prod = await ca.issueApns({ bundleId: "com.example.p", environments: ["production"] });
    assertEquals((await parseCertificate(prod.certPem)).summary.environments, ["production"]);

    const plain = await ca.issueClient("not apns");
    assertEquals((await parseCertificate(plain.certPem)).summary.environments, []);
    await assertRejects(() => parseCertificate("nope"), ValidationFailed);
    await assertRejects(() => parseCertificate(plain.keyPem), ValidationFailed);
  } finally {
    await ca.cleanup();
  }
});

Deno.test("certificateWarnings warns within 30 days and after expiry", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  const at = (days: number) => new Date(now + days * DAY).toISOString();
  assertEquals(certificateWarnings(null, now), []);
  assertEquals(certificateWarnings(at(31), now), []);
  assertEquals(certificateWarnings(at(30), now).map((w) => w.code), ["certificate_expires_soon"]);
  assertEquals(certificateWarnings(at(0.5), now).map((w) => w.code), [
    "certificate_expires_soon",
  ]);
  assertEquals(certificateWarnings(at(0), now).map((w) => w.code), ["certificate_expired"]);
  assertEquals(certificateWarnings(at(-3), now).map((w) => w.code), ["certificate_expired"]);
  assertEquals(daysLeft(at(10.5), now), 10);
  assertEquals(daysLeft(at(-0.5), now), -1);
});

Deno.test("certificateRefusal checks expiry, environment and topic before any request", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  const summary = {
    environments: ["development" as const],
    topics: ["com.x", "com.x.voip"],
    expiresAt: new Date(now + DAY).toISOString(),
  };
  const check = (environment: "development" | "production", topic: string, at = now) =>
    certificateRefusal(summary, { environment, topic, now: at });
  assertEquals(check("development", "com.x"), null);
  assertEquals(check("development", "com.x.voip"), null);
  assertEquals(check("production", "com.x"), "BadCertificateEnvironment");
  assertEquals(check("development", "com.x.complication"), "TopicDisallowed");
  assertEquals(check("development", "com.x", now + 2 * DAY), "ExpiredCertificate");
});
