import { logExpiringCertificates } from "../../jobs/certificate_expiry.ts";
import type { Logger } from "../../lib/observability/logger.ts";
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { ADMIN_TOKEN, startHarness } from "../support/harness.ts";
import { createTestCa } from "../support/test_ca.ts";

const DAY = 86_400_000;

function captureLogger() {
  const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void lines.push({ level, msg, fields });
  const logger: Logger = {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  } as Logger;
  return { lines, logger };
}

Deno.test("logExpiringCertificates names every certificate within 30 days of expiry in one line", async () => {
  let clock = Date.now();
  const h = await startHarness({ services: { now: () => clock } });
  const ca = await createTestCa();
  try {
    const soon = await h.createTestApp({
      apns: undefined,
      certificate: {
        p12: await (await ca.issueApns({ bundleId: "com.example.app", endDays: 10 })).p12(""),
      },
    });
    const later = await h.createTestApp({
      bundleId: "com.example.later",
      certificate: {
        p12: await (await ca.issueApns({ bundleId: "com.example.later", endDays: 100 })).p12(""),
      },
    });
    await h.createTestApp({ bundleId: "com.example.token" });
    clock = Date.now();

    const { lines, logger } = captureLogger();
    assertEquals(await logExpiringCertificates(h.services.apps, logger), 1);
    assertEquals(lines.length, 1);
    assertEquals(lines[0].level, "warn");
    assertStringIncludes(
      lines[0].msg,
      `${soon.appId} (Apple Push Services: com.example.app) expires`,
    );
    assertEquals(lines[0].msg.includes(later.appId), false);

    clock += 80 * DAY;
    lines.length = 0;
    assertEquals(await logExpiringCertificates(h.services.apps, logger), 2);
    assertStringIncludes(
      lines[0].msg,
      `${soon.appId} (Apple Push Services: com.example.app) expired`,
    );
    assertStringIncludes(lines[0].msg, later.appId);
    const named = (lines[0].fields!.certificates as Array<{ appId: string }>).map((c) => c.appId);
    assertEquals(named, [soon.appId, later.appId], "soonest first");

    await h.call("DELETE", `/v1/apps/${soon.appId}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await h.call("DELETE", `/v1/apps/${later.appId}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    lines.length = 0;
    assertEquals(await logExpiringCertificates(h.services.apps, logger), 0);
    assertEquals(lines, [], "nothing to say, no line");
  } finally {
    await ca.cleanup();
    await h.stop();
  }
});
