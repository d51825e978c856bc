import { assertEquals } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import type { Recipient } from "../../../lib/apns/mod.ts";
import type { Clock } from "../../../lib/clock.ts";
import type { DispatchOutcome, DispatchRequest } from "../../../lib/dispatch/mod.ts";
import { runTokenProbe, writeProbeSettings } from "../../../lib/probe/mod.ts";
import { createRegistry } from "../../../lib/registry/mod.ts";
import { fakeRegistry, testAppId } from "../segments/_fixtures.ts";

/** A clock stopped at `at` whose sleeps are recorded and return at once. */
function stoppedClock(at: number, waits: number[] = []): Clock {
  return {
    now: () => at,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  };
}

const DAY = 86_400_000;
const NOW = 1_750_000_000_000;

Deno.test("runTokenProbe probes long-unseen active installations at the set rate and reports 410s", async () => {
  const t = await startTestRedis();
  try {
    const appId = testAppId();
    const writer = fakeRegistry(t.redis);
    const registry = createRegistry({ redis: t.redis });
    for (let i = 0; i < 25; i++) {
      await writer.write(appId, `old-${i}`, {
        token: `tok-old-${i}`,
        environment: i % 2 ? "production" : "development",
        status: "active",
        lastSeenAt: String(NOW - 40 * DAY),
        registeredAt: undefined,
      } as never, NOW);
    }
    await writer.write(appId, "fresh", {
      token: "tok-fresh",
      environment: "production",
      status: "active",
      lastSeenAt: String(NOW - DAY),
    }, NOW);
    await writer.write(appId, "dead", {
      token: "tok-dead",
      environment: "production",
      status: "unregistered",
      lastSeenAt: String(NOW - 90 * DAY),
    }, NOW);

    const batches: Recipient[][] = [];
    const dispatcher = {
      dispatch(request: DispatchRequest) {
        batches.push([...request.recipients]);
        assertEquals(request.message.headers["apns-push-type"], "background");
        assertEquals(request.message.headers["apns-priority"], "5");
        assertEquals(request.message.headers["apns-topic"], "com.example.probe");
        return Promise.resolve({
          outcomes: request.recipients.map((r): DispatchOutcome => {
            const n = Number(r.installationId.split("-")[1]);
            const base = {
              installationId: r.installationId,
              attempted: true,
              credentialRefused: false,
            };
            if (n % 5 === 0) {
              return { ...base, outcome: "failed", invalidated: true, reason: "Unregistered" };
            }
            if (n % 7 === 0) {
              return { ...base, outcome: "failed", invalidated: false, reason: "BadDeviceToken" };
            }
            return { ...base, outcome: "accepted", invalidated: false };
          }),
          credentialError: null,
        });
      },
    };
    const probe = { redis: t.redis, registry, dispatcher, appId, bundleId: "com.example.probe" };
    const off = await runTokenProbe({ ...probe, clock: stoppedClock(NOW) });
    assertEquals(off.enabled, false);
    assertEquals(off.probed, 0);

    await writeProbeSettings(t.redis, appId, { enabled: true, afterDays: 30, ratePerSecond: 10 });
    const waits: number[] = [];
    const report = await runTokenProbe({ ...probe, clock: stoppedClock(NOW, waits) });
    assertEquals(report.probed, 25);
    assertEquals(report.unregistered, 5);
    assertEquals(report.failed, 3);
    assertEquals(report.accepted, 17);
    assertEquals(batches.map((b) => b.length), [10, 10, 5]);
    assertEquals(waits.length, 2); // one wait between consecutive batches of ratePerSecond
    const probedIds = batches.flat().map((r) => r.installationId);
    assertEquals(probedIds.includes("fresh") || probedIds.includes("dead"), false);

    // Probed ones are not probed again within afterDays.
    const again = await runTokenProbe({ ...probe, clock: stoppedClock(NOW + DAY) });
    assertEquals(again.probed, 0);
  } finally {
    await t.stop();
  }
});
