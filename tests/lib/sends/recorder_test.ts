import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { createRecorder, createSendStore, type NewSend } from "../../../lib/sends/mod.ts";
import { sendKeys } from "../../../lib/sends/_keys.ts";
import type { Outcome } from "../../../lib/sends/mod.ts";

const appId = "app_recorder_test";

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

const accepted = (id: string): Outcome => ({
  installationId: id,
  outcome: "accepted",
  attempted: true,
  invalidated: false,
});

/** A manual timer: `fire()` runs what is due, as if the interval had passed. */
function manualTimer() {
  const due: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  return {
    schedule(fn: () => void, ms: number) {
      const entry = { fn, ms, cancelled: false };
      due.push(entry);
      return () => void (entry.cancelled = true);
    },
    armed: () => due.filter((e) => !e.cancelled).map((e) => e.ms),
    fire() {
      for (const e of due.splice(0)) if (!e.cancelled) e.fn();
    },
  };
}

Deno.test("createRecorder writes nothing before the interval, then each send's outcomes in one write", async () => {
  const r = await startTestRedis();
  try {
    const store = createSendStore({ redis: r.redis });
    await store.create(newSend("s1"));
    await store.create(newSend("s2"));
    const timer = manualTimer();
    const recorder = createRecorder({ store, intervalMs: 25, schedule: timer.schedule });
    const a = recorder.add(appId, "s1", [accepted("a")]);
    const b = recorder.add(appId, "s1", [accepted("b"), accepted("c")]);
    const c = recorder.add(appId, "s2", [accepted("x")]);
    assertOk(a === b, "outcomes of one send share one write");
    assertEquals(timer.armed(), [25], "one timer for every send");
    assertEquals(recorder.pending, 4);
    assertEquals((await store.load(appId, "s1"))!.counts.targeted, 0);
    timer.fire();
    assertEquals(recorder.pending, 4, "a write issued is pending until Redis answers it");
    await Promise.all([a, c]);
    assertEquals(recorder.pending, 0);
    assertEquals((await store.load(appId, "s1"))!.counts.accepted, 3);
    assertEquals((await store.load(appId, "s2"))!.counts.accepted, 1);
    assertEquals(await r.redis.hget(sendKeys.handled(appId, "s1"), "b"), "a");
  } finally {
    await r.stop();
  }
});

Deno.test("createRecorder writes a send at once when maxBatch outcomes wait, and flush writes the rest", async () => {
  const r = await startTestRedis();
  try {
    const store = createSendStore({ redis: r.redis });
    await store.create(newSend("s3"));
    const timer = manualTimer();
    const recorder = createRecorder({ store, maxBatch: 2, schedule: timer.schedule });
    const first = recorder.add(appId, "s3", [accepted("a")]);
    const same = recorder.add(appId, "s3", [accepted("b")]);
    assertOk(first === same);
    await first; // written without the timer firing
    assertEquals(timer.armed(), [], "nothing left waiting, no timer left armed");
    assertEquals((await store.load(appId, "s3"))!.counts.accepted, 2);
    const next = recorder.add(appId, "s3", [accepted("c")]);
    assertOk(next !== first, "a new write after the full one");
    await recorder.flush();
    await next;
    assertEquals((await store.load(appId, "s3"))!.counts.accepted, 3);
    assertEquals(await recorder.add(appId, "s3", []), undefined, "nothing to write");
    assertEquals(recorder.pending, 0);
  } finally {
    await r.stop();
  }
});

Deno.test("createRecorder rejects the outcomes' promise when their write fails", async () => {
  const r = await startTestRedis();
  try {
    const store = createSendStore({ redis: r.redis });
    await store.create(newSend("s4"));
    await store.create(newSend("s5"));
    // A recipient hash of the wrong type makes the record script fail inside Redis.
    await r.redis.set(sendKeys.handled(appId, "s4"), "not a hash");
    const timer = manualTimer();
    const recorder = createRecorder({ store, schedule: timer.schedule });
    const broken = recorder.add(appId, "s4", [accepted("a")]);
    const fine = recorder.add(appId, "s5", [accepted("a")]);
    timer.fire();
    await assertRejects(() => broken);
    await fine;
    assertEquals((await store.load(appId, "s5"))!.counts.accepted, 1);
    assertEquals((await store.load(appId, "s4"))!.counts.accepted, 0);
  } finally {
    await r.stop();
  }
});
