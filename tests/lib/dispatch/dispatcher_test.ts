import { assertEquals, assertOk } from "../../support/assert.ts";
import { manualClock } from "../../support/manual_clock.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { createDispatcher, probeMessage, renderMessage } from "../../../lib/dispatch/mod.ts";
import { createRegistry } from "../../../lib/registry/mod.ts";

import { APP, fakeRelay, recipient, recordingCredentials, throttled } from "./_fakes.ts";

const APP_ID = "app_0123456789abcdef01234567";
const message = renderMessage(APP.bundleId, { notification: { title: "Hi" } });

Deno.test("dispatch sends transient failures again in rounds that wait 200/400/800 ms or APNs' retry-after", async () => {
  const clock = manualClock();
  const { relay, calls } = fakeRelay({
    late: [throttled(500), { status: "accepted", apnsId: "late-ok" }],
    never: [throttled()],
  });
  const beats: number[] = [];
  const dispatcher = createDispatcher({ relay, credentials: recordingCredentials().source, clock });
  const report = await dispatcher.dispatch({
    appId: APP_ID,
    message,
    recipients: [recipient("ok"), recipient("late"), recipient("never")],
    heartbeat: () => Promise.resolve(void beats.push(clock.now())),
  });
  assertEquals(calls.map((c) => c.tokens), [
    ["ok", "late", "never"],
    ["late", "never"],
    ["never"],
    ["never"],
  ]);
  // Round 1 waits for APNs' retry-after (500 > 200); then the backoff doubles.
  assertEquals(clock.sleeps, [500, 400, 800]);
  assertEquals(beats.length, 6, "a heartbeat before and after each wait");
  assertEquals(report.outcomes.map((o) => [o.installationId, o.outcome, o.reason ?? null]), [
    ["inst-ok", "accepted", null],
    ["inst-late", "accepted", null],
    ["inst-never", "failed", "TooManyRequests"],
  ]);
  assertEquals(report.outcomes[1].apnsId, "late-ok");
  assertEquals(report.credentialError, null);
});

Deno.test("dispatch keeps APNs' answer when its retry-after is longer than a round may wait", async () => {
  const clock = manualClock();
  const { relay, calls } = fakeRelay({ slow: [throttled(60_000)] });
  const dispatcher = createDispatcher({ relay, credentials: recordingCredentials().source, clock });
  const report = await dispatcher.dispatch({
    appId: APP_ID,
    message,
    recipients: [recipient("slow")],
  });
  assertEquals(calls.length, 1);
  assertEquals(clock.sleeps, []);
  assertEquals(report.outcomes[0].reason, "TooManyRequests");
});

Deno.test("dispatch applies APNs' feedback to the registry: 410 invalidates, a success on the other host corrects the environment", async () => {
  const t = await startTestRedis();
  try {
    const registry = createRegistry({ redis: t.redis });
    const gone = await registry.register(APP_ID, { token: "a1", environment: "production" });
    const moved = await registry.register(APP_ID, { token: "b2", environment: "production" });
    const later = Date.now() + 60_000;
    const { relay } = fakeRelay({
      a1: [{
        status: "failed",
        reason: "Unregistered",
        apns: { status: 410, timestamp: later },
        feedback: { kind: "unregistered", timestamp: later },
      }],
      b2: [{
        status: "accepted",
        apnsId: "b2-ok",
        feedback: { kind: "environment", environment: "development" },
      }],
    });
    const dispatcher = createDispatcher({
      relay,
      credentials: recordingCredentials().source,
      registry,
      clock: manualClock(),
    });
    const report = await dispatcher.dispatch({
      appId: APP_ID,
      message,
      recipients: [
        { ...recipient("a1"), installationId: gone.installationId },
        { ...recipient("b2"), installationId: moved.installationId },
      ],
    });
    assertEquals(report.outcomes.map((o) => [o.outcome, o.invalidated, o.reason ?? null]), [
      ["failed", true, "Unregistered"],
      ["accepted", false, null],
    ]);
    assertEquals((await registry.get(APP_ID, gone.installationId))?.status, "unregistered");
    assertEquals((await registry.get(APP_ID, moved.installationId))?.environment, "development");
  } finally {
    await t.stop();
  }
});

Deno.test("dispatch stops at a credential error: no more rounds, the held recipients fail with it, the source is told once", async () => {
  const clock = manualClock();
  const problem = { reason: "InvalidProviderToken", message: "check the key" };
  const { relay, calls } = fakeRelay({
    busy: [throttled()],
    bad: [{
      status: "failed",
      reason: "InvalidProviderToken",
      apns: { status: 403 },
      credentialError: problem,
    }],
  });
  const credentials = recordingCredentials();
  const dispatcher = createDispatcher({ relay, credentials: credentials.source, clock });
  const report = await dispatcher.dispatch({
    appId: APP_ID,
    message,
    recipients: [recipient("busy"), recipient("bad")],
  });
  assertEquals(calls.length, 1, "no second round after the credential was refused");
  assertEquals(clock.sleeps, []);
  assertEquals(report.credentialError, problem);
  assertEquals(credentials.refused, [problem]);
  assertEquals(report.outcomes.map((o) => [o.reason, o.credentialRefused]), [
    ["InvalidProviderToken", true],
    ["InvalidProviderToken", true],
  ]);
});

Deno.test("dispatch in check mode asks once, for exactly the environment given, and feeds nothing back", async () => {
  const clock = manualClock();
  const { relay, calls } = fakeRelay({ t: [throttled()] });
  const dispatcher = createDispatcher({ relay, credentials: recordingCredentials().source, clock });
  const report = await dispatcher.dispatch({
    appId: "cli",
    message: probeMessage(APP.bundleId),
    recipients: [recipient("t", "development")],
    mode: "check",
  });
  assertEquals(calls.length, 1);
  assertEquals(calls[0].options, { environmentFallback: false });
  assertEquals(clock.sleeps, []);
  assertEquals(report.outcomes[0].apns, { status: 429 });
  assertOk(!report.outcomes[0].invalidated);
});
