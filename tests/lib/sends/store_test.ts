import { assertEquals, assertOk } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { createSendStore, type NewSend } from "../../../lib/sends/mod.ts";
import { sendKeys } from "../../../lib/sends/_keys.ts";

const appId = "app_store_test";

function newSend(sendId: string): NewSend {
  return {
    appId,
    sendId,
    status: "queued",
    audience: { kind: "all" },
    environment: null,
    ratePerSecond: null,
    scheduleAt: null,
    body: '{"aps":{}}',
    headers: { "apns-topic": "com.example" },
  };
}

Deno.test("SendStore.record counts each recipient once, even when a batch is retried", async () => {
  const r = await startTestRedis();
  try {
    const store = createSendStore({ redis: r.redis, now: () => 1_000 });
    await store.create(newSend("s1"));
    const outcomes = [
      { installationId: "a", outcome: "accepted" as const, attempted: true, invalidated: false },
      {
        installationId: "b",
        outcome: "failed" as const,
        attempted: true,
        invalidated: true,
        reason: "Unregistered",
      },
      {
        installationId: "c",
        outcome: "skipped" as const,
        attempted: false,
        invalidated: false,
        reason: "Denied",
      },
    ];
    assertEquals(await store.record(appId, "s1", outcomes), 3);
    assertEquals(await store.record(appId, "s1", outcomes), 0);
    const send = (await store.load(appId, "s1"))!;
    assertEquals(send.status, "sending");
    assertEquals(send.startedAt, 1_000);
    assertEquals(send.counts, {
      targeted: 3,
      attempted: 2,
      accepted: 1,
      failed: 1,
      invalidated: 1,
      skipped: 1,
    });
    assertEquals(await store.failures(appId, "s1"), { Unregistered: 1 });
    assertEquals(await store.record(appId, "missing", outcomes), -1);
    assertEquals(await r.redis.exists(sendKeys.handled(appId, "missing")), 0);
  } finally {
    await r.stop();
  }
});

Deno.test("SendStore.claim gives an id to one batch, the same batch may reclaim it, a cancelled send claims nothing", async () => {
  const r = await startTestRedis();
  try {
    const store = createSendStore({ redis: r.redis });
    await store.create(newSend("s2"));
    const first = await store.claim(appId, "s2", 0, ["a", "b"]);
    assertEquals(first.flags, ["new", "new"]);
    assertEquals((await store.claim(appId, "s2", 1, ["b", "c"])).flags, ["other", "new"]);
    assertEquals((await store.claim(appId, "s2", 0, ["a"])).flags, ["retry"]);
    await store.record(appId, "s2", [{
      installationId: "a",
      outcome: "accepted",
      attempted: true,
      invalidated: false,
    }]);
    assertEquals(await store.claim(appId, "s2", 0, ["a"]), { flags: ["other"] });
    await store.transition(appId, "s2", "cancelled", ["queued", "sending"]);
    assertEquals(await store.claim(appId, "s2", 2, ["z"]), {
      stopped: "cancelled",
      flags: [],
    });
    assertEquals(await store.claim(appId, "gone", 0, ["z"]), {
      stopped: "gone",
      flags: [],
    });
  } finally {
    await r.stop();
  }
});

Deno.test("SendStore.claim and record: an id repeated in one call, and calls larger than the scripts' slices", async () => {
  const r = await startTestRedis();
  try {
    const store = createSendStore({ redis: r.redis, now: () => 5 });
    await store.create(newSend("s5"));
    // Repeated in one call: the second is this batch's own claim, as it would be one by one.
    assertEquals((await store.claim(appId, "s5", 0, ["a", "a", "b"])).flags, [
      "new",
      "retry",
      "new",
    ]);
    // 2,500 ids (the claim script reads and writes 1,000 at a time), some already claimed.
    const ids = Array.from({ length: 2_500 }, (_, i) => `i${i}`);
    await store.claim(appId, "s5", 1, ["i7", "i1500"]);
    const flags = (await store.claim(appId, "s5", 2, ids)).flags;
    assertEquals(flags.length, 2_500);
    assertEquals(flags.filter((f) => f === "new").length, 2_498);
    assertEquals([flags[7], flags[1500]], ["other", "other"]);
    const handled = await r.redis.hgetall<Record<string, string>>(sendKeys.handled(appId, "s5"));
    assertEquals(Object.keys(handled!).length, 2_502);
    assertEquals([handled!.i0, handled!.i2499, handled!.i7].map(String), ["2", "2", "1"]);
    // 1,200 outcomes (the record script works 500 at a time), one id repeated: counted once.
    const outcomes = ids.slice(0, 1_200).map((installationId, i) => ({
      installationId,
      outcome: i % 3 === 0 ? "failed" as const : "accepted" as const,
      attempted: true,
      invalidated: i % 6 === 0,
      ...(i % 3 === 0 ? { reason: i % 2 === 0 ? "Unregistered" : "BadDeviceToken" } : {}),
    }));
    outcomes.push({ ...outcomes[1] });
    assertEquals(await store.record(appId, "s5", outcomes), 1_200);
    assertEquals(await store.record(appId, "s5", outcomes.slice(0, 600)), 0);
    const send = (await store.load(appId, "s5"))!;
    assertEquals(send.counts, {
      targeted: 1_200,
      attempted: 1_200,
      accepted: 800,
      failed: 400,
      invalidated: 200,
      skipped: 0,
    });
    assertEquals(await store.failures(appId, "s5"), { Unregistered: 200, BadDeviceToken: 200 });
    const after = await r.redis.hgetall<Record<string, string>>(sendKeys.handled(appId, "s5"));
    assertEquals([after!.i0, after!.i1, after!.i1199, after!.i1200].map(String), [
      "d",
      "a",
      "a",
      "2",
    ]);
  } finally {
    await r.stop();
  }
});

Deno.test("SendStore.progress completes only when resolution is done and every batch is", async () => {
  const r = await startTestRedis();
  try {
    let clock = 5_000;
    const store = createSendStore({ redis: r.redis, now: () => clock, retentionMs: 60_000 });
    await store.create(newSend("s3"));
    assertEquals(await store.progress(appId, "s3", { issued: 2 }), "resolving");
    assertEquals(await store.progress(appId, "s3", { batchDone: 0 }), "resolving");
    assertEquals(await store.progress(appId, "s3", { issued: 3, resolved: true }), "resolving");
    assertEquals(await store.progress(appId, "s3", { batchDone: 1 }), "resolving");
    assertEquals(await store.progress(appId, "s3", { batchDone: 1 }), "resolving");
    clock = 9_000;
    assertEquals(await store.progress(appId, "s3", { batchDone: 2 }), "completed");
    const send = (await store.load(appId, "s3"))!;
    assertEquals(send.finishedAt, 9_000);
    assertOk(Number(await r.redis.pttl(sendKeys.batchesDone(appId, "s3"))) > 0);
    // A zero-recipient send completes as soon as resolution finishes.
    await store.create(newSend("s4"));
    assertEquals(await store.progress(appId, "s4", { issued: 0, resolved: true }), "completed");
  } finally {
    await r.stop();
  }
});

Deno.test("SendStore.transition cancels a running send but not a completed one", async () => {
  const r = await startTestRedis();
  try {
    const store = createSendStore({ redis: r.redis, now: () => 7 });
    await store.create(newSend("s5"));
    const from = ["scheduled", "queued", "resolving", "sending"] as const;
    assertEquals(await store.transition(appId, "s5", "cancelled", from), {
      changed: true,
      before: "queued",
    });
    assertEquals((await store.load(appId, "s5"))!.finishedAt, 7);
    assertEquals(await store.transition(appId, "s5", "cancelled", from), {
      changed: false,
      before: "cancelled",
    });
    assertEquals(await store.transition(appId, "nope", "cancelled", from), {
      changed: false,
      before: null,
    });
    await store.create(newSend("s6"));
    await store.transition(appId, "s6", "failed", ["queued"], {
      reason: "InvalidProviderToken",
      message: "bad key",
    });
    assertEquals((await store.load(appId, "s6"))!.error, {
      reason: "InvalidProviderToken",
      message: "bad key",
    });
  } finally {
    await r.stop();
  }
});

Deno.test("SendStore.takeTokens hands out a burst, then paces at the rate", async () => {
  const r = await startTestRedis();
  try {
    let clock = 0;
    const store = createSendStore({ redis: r.redis, now: () => clock });
    assertEquals(await store.takeTokens(appId, "s7", 10, 2, 5), { granted: 2, waitMs: 0 });
    const empty = await store.takeTokens(appId, "s7", 10, 2, 5);
    assertEquals(empty.granted, 0);
    assertEquals(empty.waitMs, 100);
    clock = 100;
    assertEquals((await store.takeTokens(appId, "s7", 10, 2, 5)).granted, 1);
    clock = 10_000;
    assertEquals((await store.takeTokens(appId, "s7", 10, 2, 5)).granted, 2);
  } finally {
    await r.stop();
  }
});

Deno.test("SendStore.record marks Unconfirmed recipients apart, and records one the SDK already reported as accepted", async () => {
  const r = await startTestRedis();
  try {
    const store = createSendStore({ redis: r.redis });
    await store.create(newSend("s6"));
    await r.redis.sadd(sendKeys.eventsSeen(appId, "s6"), "opened:seen");
    const unconfirmed = (id: string) => ({
      installationId: id,
      outcome: "failed" as const,
      attempted: true,
      invalidated: false,
      reason: "Unconfirmed",
    });
    assertEquals(await store.record(appId, "s6", [unconfirmed("lost"), unconfirmed("seen")]), 2);
    assertEquals(await store.record(appId, "s6", [unconfirmed("lost")]), 0, "once only");
    assertEquals(await r.redis.hget(sendKeys.handled(appId, "s6"), "lost"), "u");
    assertEquals(await r.redis.hget(sendKeys.handled(appId, "s6"), "seen"), "a");
    const send = (await store.load(appId, "s6"))!;
    assertEquals(send.counts.accepted, 1);
    assertEquals(send.counts.failed, 1);
    assertEquals(await store.failures(appId, "s6"), { Unconfirmed: 1 });
  } finally {
    await r.stop();
  }
});
