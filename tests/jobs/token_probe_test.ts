import { assertEquals } from "../support/assert.ts";
import { startTestRedis } from "../support/redis_server.ts";
import {
  type ProbeOutcome,
  type ProbeRecipient,
  runTokenProbe,
  writeProbeSettings,
} from "../../jobs/token_probe.ts";
import { fakeRegistry, testAppId } from "../lib/segments/_fixtures.ts";

const DAY = 86_400_000;
const NOW = 1_750_000_000_000;

Deno.test("runTokenProbe probes long-unseen active installations at the set rate and reports 410s", async () => {
  const t = await startTestRedis();
  try {
    const appId = testAppId();
    const registry = fakeRegistry(t.redis);
    for (let i = 0; i < 25; i++) {
      await registry.write(appId, `old-${i}`, {
        token: `tok-old-${i}`,
        environment: i % 2 ? "production" : "development",
        status: "active",
        lastSeenAt: String(NOW - 40 * DAY),
        registeredAt: undefined,
      } as never, NOW);
    }
    await registry.write(appId, "fresh", {
      token: "tok-fresh",
      environment: "production",
      status: "active",
      lastSeenAt: String(NOW - DAY),
    }, NOW);
    await registry.write(appId, "dead", {
      token: "tok-dead",
      environment: "production",
      status: "unregistered",
      lastSeenAt: String(NOW - 90 * DAY),
    }, NOW);

    const off = await runTokenProbe({
      redis: t.redis,
      appId,
      send: () => Promise.resolve([]),
      now: () => NOW,
    });
    assertEquals(off.enabled, false);
    assertEquals(off.probed, 0);

    await writeProbeSettings(t.redis, appId, { enabled: true, afterDays: 30, ratePerSecond: 10 });
    const batches: ProbeRecipient[][] = [];
    const waits: number[] = [];
    const send = (recipients: ProbeRecipient[]): Promise<ProbeOutcome[]> => {
      batches.push(recipients);
      return Promise.resolve(recipients.map((r) => {
        const n = Number(r.installationId.split("-")[1]);
        if (n % 5 === 0) {
          return {
            installationId: r.installationId,
            status: "failed",
            reason: "Unregistered",
            feedback: { kind: "unregistered" },
          };
        }
        if (n % 7 === 0) {
          return { installationId: r.installationId, status: "failed", reason: "BadDeviceToken" };
        }
        return { installationId: r.installationId, status: "accepted" };
      }));
    };
    const report = await runTokenProbe({
      redis: t.redis,
      appId,
      send,
      now: () => NOW,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    assertEquals(report.probed, 25);
    assertEquals(report.unregistered, 5);
    assertEquals(report.failed, 3);
    assertEquals(report.accepted, 17);
    assertEquals(batches.map((b) => b.length), [10, 10, 5]);
    assertEquals(waits.length, 2); // one wait between consecutive batches of ratePerSecond
    const probedIds = batches.flat().map((r) => r.installationId);
    assertEquals(probedIds.includes("fresh") || probedIds.includes("dead"), false);

    // Probed ones are not probed again within afterDays.
    const again = await runTokenProbe({
      redis: t.redis,
      appId,
      send,
      now: () => NOW + DAY,
      sleep: () => Promise.resolve(),
    });
    assertEquals(again.probed, 0);
  } finally {
    await t.stop();
  }
});
