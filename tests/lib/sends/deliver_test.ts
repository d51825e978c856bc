import { assertEquals, assertOk } from "../../support/assert.ts";
import { manualClock } from "../../support/manual_clock.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { createDispatcher } from "../../../lib/dispatch/mod.ts";
import { createRegistry } from "../../../lib/registry/mod.ts";
import { createDeliverer, createSendStore, type NewSend } from "../../../lib/sends/mod.ts";
import { fakeRelay, recordingCredentials } from "../dispatch/_fakes.ts";

const appId = "app_0123456789abcdef0123deli";

function newSend(sendId: string, ratePerSecond: number | null = null): NewSend {
  return {
    appId,
    sendId,
    status: "sending",
    audience: { kind: "installationIds" },
    environment: null,
    ratePerSecond,
    scheduleAt: null,
    body: '{"aps":{"alert":"hi"}}',
    headers: { "apns-topic": "com.example.dispatch", "apns-push-type": "alert" },
  };
}

const hex = (i: number) => i.toString(16).padStart(64, "0");

/** A real store and registry on a private Redis, a scripted relay, one manual clock for all. */
async function setup(script: Parameters<typeof fakeRelay>[0] = {}, chunkSize = 250) {
  const t = await startTestRedis();
  const clock = manualClock();
  const store = createSendStore({ redis: t.redis, now: clock.now });
  const registry = createRegistry({ redis: t.redis, now: clock.now });
  const relay = fakeRelay(script);
  const credentials = recordingCredentials();
  const dispatcher = createDispatcher({
    relay: relay.relay,
    credentials: credentials.source,
    clock,
  });
  const deliverer = createDeliverer({ store, dispatcher, registry, clock, chunkSize });
  const register = async (n: number) => {
    const ids: string[] = [];
    for (let i = 1; i <= n; i++) {
      ids.push(
        (await registry.register(appId, { token: hex(i), environment: "production" }))
          .installationId,
      );
    }
    return ids;
  };
  return { t, clock, store, registry, relay, credentials, deliverer, register };
}

Deno.test("deliver sends claimed recipients, skips the unreachable, and records each once", async () => {
  const s = await setup();
  try {
    const [a, b] = await s.register(2);
    await s.store.create(newSend("s1"));
    const report = await s.deliverer.deliver(
      (await s.store.load(appId, "s1"))!,
      0,
      [a, b, "missing", a],
    );
    assertEquals(report.stopped, undefined);
    const byId = Object.fromEntries(report.results.map((r) => [r.installationId, r]));
    assertEquals(byId[a].status, "accepted");
    assertEquals(byId[b].status, "accepted");
    assertEquals([byId.missing.status, byId.missing.reason], ["skipped", "NotFound"]);
    assertEquals(report.results.length, 3, "a repeated id is sent once");
    const send = (await s.store.load(appId, "s1"))!;
    assertEquals(send.counts.accepted, 2);
    assertEquals(send.counts.skipped, 1);
    // Delivered again (a retried batch): nothing is claimed twice, nothing sent twice.
    const again = await s.deliverer.deliver(send, 0, [a, b]);
    assertEquals(again.results, []);
    assertEquals(s.relay.calls.length, 1);
  } finally {
    await s.t.stop();
  }
});

Deno.test("deliver without results (a queued batch) builds none and still records every outcome", async () => {
  const s = await setup();
  try {
    const [a, b] = await s.register(2);
    await s.store.create(newSend("s1r"));
    const report = await s.deliverer.deliver(
      (await s.store.load(appId, "s1r"))!,
      0,
      [a, b, "missing"],
      { results: false },
    );
    assertEquals(report, { results: [] });
    const send = (await s.store.load(appId, "s1r"))!;
    assertEquals([send.counts.accepted, send.counts.skipped, send.counts.targeted], [2, 1, 3]);
  } finally {
    await s.t.stop();
  }
});

Deno.test("deliver paces a rate-limited send on its clock: 60 at 40/s takes 1.3 s of waits, none real", async () => {
  const s = await setup({}, 250);
  try {
    const ids = await s.register(60);
    await s.store.create(newSend("s2", 40));
    const started = s.clock.now();
    const report = await s.deliverer.deliver((await s.store.load(appId, "s2"))!, 0, ids);
    assertEquals(report.results.filter((r) => r.status === "accepted").length, 60);
    const waited = s.clock.now() - started;
    // An 8-token burst, then 40 a second: (60 - 8) / 40 = 1.3 s.
    assertOk(waited >= 1_250 && waited <= 1_600, `waited ${waited} ms of clock time`);
    // The waits were the manual clock's (it advances instead of sleeping); a wall-clock bound
    // here would only measure how busy the machine is.
    assertOk(s.clock.sleeps.length > 0);
    // Every relay call stayed within the bucket's capacity of 8.
    assertOk(s.relay.calls.every((c) => c.tokens.length <= 8));
  } finally {
    await s.t.stop();
  }
});

Deno.test("deliver fails the send on a credential error and records the refused recipients as attempted failures", async () => {
  const problem = { reason: "InvalidProviderToken", message: "check the key" };
  const s = await setup({
    [hex(1)]: [{ status: "failed", reason: "InvalidProviderToken", credentialError: problem }],
  }, 2);
  try {
    const ids = await s.register(4);
    await s.store.create(newSend("s3"));
    const report = await s.deliverer.deliver((await s.store.load(appId, "s3"))!, 0, ids);
    assertEquals(report.stopped, "failed");
    assertEquals(s.relay.calls.length, 1, "the second chunk is never sent");
    const send = (await s.store.load(appId, "s3"))!;
    assertEquals(send.status, "failed");
    assertEquals([send.counts.accepted, send.counts.failed], [1, 1]);
    assertEquals(s.credentials.refused, [problem]);
  } finally {
    await s.t.stop();
  }
});

Deno.test("deliver of a batch retried after a crash reports its uncertain recipients Unconfirmed (skip) or sends them (resend)", async () => {
  const s = await setup();
  try {
    const ids = await s.register(2);
    await s.store.create(newSend("s4"));
    await s.store.claim(appId, "s4", 0, ids); // the dead worker's claim
    const send = (await s.store.load(appId, "s4"))!;
    const skipped = await s.deliverer.deliver(send, 0, [ids[0]]);
    assertEquals(skipped.results.map((r) => [r.status, r.reason]), [["failed", "Unconfirmed"]]);
    const resent = await s.deliverer.deliver(send, 0, [ids[1]], { uncertain: "resend" });
    assertEquals(resent.results.map((r) => r.status), ["accepted"]);
    assertEquals(s.relay.calls.map((c) => c.tokens.length), [1]);
  } finally {
    await s.t.stop();
  }
});
