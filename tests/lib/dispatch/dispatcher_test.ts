import { assertEquals, assertOk } from "../../support/assert.ts";
import { manualClock } from "../../support/manual_clock.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import type {
  CredentialProblem,
  Recipient,
  Relay,
  RelayApp,
  SendBatchOptions,
  SendResult,
} from "../../../lib/apns/mod.ts";
import {
  createDispatcher,
  type CredentialSource,
  probeMessage,
  renderMessage,
} from "../../../lib/dispatch/mod.ts";
import { createRegistry } from "../../../lib/registry/mod.ts";

const APP_ID = "app_0123456789abcdef01234567";
const APP: RelayApp = {
  bundleId: "com.example.dispatch",
  credential: { kind: "token", teamId: "TEAM", keyId: "KEY", privateKeyPem: "unused" },
};
const message = renderMessage(APP.bundleId, { notification: { title: "Hi" } });

type Answer = Omit<SendResult, "installationId" | "attempted"> & { attempted?: boolean };

/**
 * A relay that answers from a script: per token, the answers of its successive requests (the
 * last one repeats). It records every batch and the options it came with.
 */
function fakeRelay(script: Record<string, Answer[]>) {
  const calls: Array<{ tokens: string[]; options?: SendBatchOptions }> = [];
  const seen = new Map<string, number>();
  const relay: Pick<Relay, "sendBatch"> = {
    sendBatch(_app, _message, recipients, options) {
      calls.push({ tokens: recipients.map((r) => r.token), options });
      return Promise.resolve(recipients.map((r) => {
        const n = seen.get(r.token) ?? 0;
        seen.set(r.token, n + 1);
        const answers = script[r.token] ?? [{ status: "accepted", apnsId: `id-${r.token}` }];
        const answer = answers[Math.min(n, answers.length - 1)];
        return { installationId: r.installationId, attempted: true, ...answer };
      }));
    },
  };
  return { relay, calls };
}

/** A fixed credential that records what the dispatcher reports refused. */
function recordingCredentials() {
  const refused: CredentialProblem[] = [];
  const source: CredentialSource = {
    load: () => Promise.resolve(APP),
    refused: (_appId, problem) => {
      refused.push(problem);
      return Promise.resolve();
    },
  };
  return { source, refused };
}

const recipient = (token: string, environment: Recipient["environment"] = "production") => ({
  installationId: `inst-${token}`,
  token,
  environment,
  registeredAt: 0,
});

const throttled = (retryAfterMs?: number): Answer => ({
  status: "failed",
  reason: "TooManyRequests",
  transient: true,
  apns: { status: 429 },
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});

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
