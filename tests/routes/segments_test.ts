import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { waitFor } from "../support/redis_server.ts";
import { acquireSyncLock, runSegmentSync } from "../../lib/segments/mod.ts";
import { segmentKeys } from "../../lib/segments/_keys.ts";
import { bitmapIds } from "../lib/segments/_fixtures.ts";
import { registryKeys } from "../../lib/registry/_keys.ts";

const server = (key: string) => ({ authorization: `Bearer ${key}` });

function token(n: number): string {
  return n.toString(16).padStart(64, "0");
}

async function setup() {
  const h = await startHarness();
  const app = await h.createTestApp();
  const base = `/v1/apps/${app.appId}/segments`;
  return { h, app, base, auth: server(app.serverKey) };
}

async function register(
  h: Harness,
  appKey: string,
  body: Record<string, unknown>,
): Promise<string> {
  const res = await h.call("POST", "/v1/sdk/installations", {
    headers: { "x-app-key": appKey },
    body,
  });
  assertOk(res.status === 201 || res.status === 200, JSON.stringify(res.body));
  return res.body.installationId;
}

Deno.test("PUT /v1/apps/:appId/segments/:segmentId creates, updates and GET reads the segment", async () => {
  const { h, base, auth } = await setup();
  try {
    const created = await h.call("PUT", `${base}/vip`, { headers: auth, body: { name: "VIP" } });
    assertEquals(created.status, 201);
    assertEquals(created.body, {
      segmentId: "vip",
      name: "VIP",
      rule: null,
      users: 0,
      reachable: { production: 0, development: 0 },
      syncedAt: null,
      report: null,
    });
    const rule = { all: [{ attribute: "appVersion", op: "semverGte", value: "2.0" }] };
    const updated = await h.call("PUT", `${base}/vip`, {
      headers: auth,
      body: { name: "VIPs", rule },
    });
    assertEquals(updated.status, 200);
    assertEquals(updated.body.rule, rule);
    const got = await h.call("GET", `${base}/vip`, { headers: auth });
    assertEquals(got.body.name, "VIPs");
    const list = await h.call("GET", base, { headers: auth });
    assertEquals(list.body.segments.map((s: { segmentId: string }) => s.segmentId), ["vip"]);
    const gone = await h.call("DELETE", `${base}/vip`, { headers: auth });
    assertEquals(gone.status, 204);
    assertEquals((await h.call("GET", `${base}/vip`, { headers: auth })).status, 404);
  } finally {
    await h.stop();
  }
});

Deno.test("PUT /v1/apps/:appId/segments/:segmentId rejects bad ids, rules and credentials", async () => {
  const { h, app, base, auth } = await setup();
  try {
    const badId = await h.call("PUT", `${base}/${"x".repeat(65)}`, {
      headers: auth,
      body: { name: "x" },
    });
    assertEquals(badId.status, 400);
    const badRule = await h.call("PUT", `${base}/s`, {
      headers: auth,
      body: { name: "x", rule: { all: [{ attribute: "a", op: "gt", value: 1 }] } },
    });
    assertEquals(badRule.status, 400);
    assertEquals(badRule.body.error.code, "validation_failed");
    const unknown = await h.call("PUT", `${base}/s`, {
      headers: auth,
      body: { name: "x", extra: 1 },
    });
    assertEquals(unknown.status, 400);
    assertEquals((await h.call("PUT", `${base}/s`, { body: { name: "x" } })).status, 401);
    const other = await h.createTestApp();
    const wrongApp = await h.call("PUT", `/v1/apps/${other.appId}/segments/s`, {
      headers: auth,
      body: { name: "x" },
    });
    assertOk(wrongApp.status === 401 || wrongApp.status === 403);
    assertEquals(await h.testRedis.redis.exists(segmentKeys.segment(app.appId, "s")), 0);
  } finally {
    await h.stop();
  }
});

Deno.test("POST …/members adds and removes JSON ids and answers counts", async () => {
  const { h, base, auth } = await setup();
  try {
    await h.call("PUT", `${base}/s`, { headers: auth, body: { name: "S" } });
    const add = await h.call("POST", `${base}/s/members`, {
      headers: auth,
      body: { add: ["u1", "u2", "u3", "u1"] },
    });
    assertEquals(add.status, 200);
    assertEquals(add.body, { added: 3, removed: 0, members: 3 });
    const both = await h.call("POST", `${base}/s/members`, {
      headers: auth,
      body: { add: ["u4"], remove: ["u1", "nobody"] },
    });
    assertEquals(both.body, { added: 1, removed: 1, members: 3 });
    const tooMany = await h.call("POST", `${base}/s/members`, {
      headers: auth,
      body: { add: Array.from({ length: 10_001 }, (_, i) => `u${i}`) },
    });
    assertEquals(tooMany.status, 400);
    const tooLong = await h.call("POST", `${base}/s/members`, {
      headers: auth,
      body: { add: ["x".repeat(129)] },
    });
    assertEquals(tooLong.status, 400);
    const missing = await h.call("POST", `${base}/nope/members`, {
      headers: auth,
      body: { add: ["u1"] },
    });
    assertEquals(missing.status, 404);
  } finally {
    await h.stop();
  }
});

Deno.test("POST …/members streams text and NDJSON, replaces, and rejects a bad line without changes", async () => {
  const { h, app, base, auth } = await setup();
  try {
    await h.call("PUT", `${base}/s`, { headers: auth, body: { name: "S" } });
    const text = await h.call("POST", `${base}/s/members`, {
      headers: { ...auth, "content-type": "text/plain" },
      raw: "a\nb\r\n\nc\n",
    });
    assertEquals(text.body, { added: 3, removed: 0, members: 3 });
    const ndjson = await h.call("POST", `${base}/s/members`, {
      headers: { ...auth, "content-type": "application/x-ndjson" },
      raw: '"c"\n{"userId":"d"}\n',
    });
    assertEquals(ndjson.body, { added: 1, removed: 0, members: 4 });
    const bad = await h.call("POST", `${base}/s/members?mode=replace`, {
      headers: { ...auth, "content-type": "application/x-ndjson" },
      raw: '"x"\n"y"\n{"user":"z"}\n',
    });
    assertEquals(bad.status, 400);
    assertStringIncludes(bad.body.error.message, "line 3");
    assertEquals((await h.call("GET", `${base}/s`, { headers: auth })).body.users, 4);
    const replaced = await h.call("POST", `${base}/s/members?mode=replace`, {
      headers: { ...auth, "content-type": "text/plain" },
      raw: "b\nd\ne",
    });
    assertEquals(replaced.body, { added: 1, removed: 2, members: 3 });
    const r = h.testRedis.redis;
    assertEquals((await r.smembers(segmentKeys.members(app.appId, "s"))).sort(), ["b", "d", "e"]);
    assertEquals(await r.hkeys(segmentKeys.userSegments(app.appId, "a")), []);
    assertEquals(await r.hkeys(segmentKeys.userSegments(app.appId, "e")), ["s"]);
    const staged = await r.scan(0, { match: `ep:v1:{${app.appId}}:seg:s:staging:*` });
    assertEquals(staged[1], []);
  } finally {
    await h.stop();
  }
});

Deno.test("segment reachable set contains a device registered today by a member, at once", async () => {
  const { h, app, base, auth } = await setup();
  try {
    await h.call("PUT", `${base}/today`, {
      headers: auth,
      body: {
        name: "Today",
        rule: { all: [{ attribute: "locale", op: "prefix", value: "en" }] },
      },
    });
    await h.call("POST", `${base}/today/members`, { headers: auth, body: { add: ["alice"] } });
    const first = await register(h, app.appKey, {
      token: token(1),
      environment: "production",
      userId: "alice",
      attributes: { locale: "en-US", appVersion: "2.1" },
    });
    const second = await register(h, app.appKey, {
      token: token(2),
      environment: "development",
      userId: "alice",
      attributes: { locale: "en-GB" },
    });
    const fr = await register(h, app.appKey, {
      token: token(3),
      environment: "production",
      userId: "alice",
      attributes: { locale: "fr-FR" },
    });
    await register(h, app.appKey, {
      token: token(4),
      environment: "production",
      userId: "bob",
      attributes: { locale: "en-US" },
    });
    const r = h.testRedis.redis;
    assertEquals(
      await bitmapIds(r, app.appId, segmentKeys.reachable(app.appId, "today", "production")),
      [
        first,
      ],
    );
    assertEquals(
      await bitmapIds(r, app.appId, segmentKeys.reachable(app.appId, "today", "development")),
      [
        second,
      ],
    );
    const got = await h.call("GET", `${base}/today`, { headers: auth });
    assertEquals(got.body.reachable, { production: 1, development: 1 });
    assertEquals(got.body.users, 1);
    assertOk(
      !(await bitmapIds(r, app.appId, segmentKeys.reachable(app.appId, "today", "production")))
        .includes(fr),
    );
    // Removing the member empties the reachable sets at once.
    await h.call("POST", `${base}/today/members`, { headers: auth, body: { remove: ["alice"] } });
    const after = await h.call("GET", `${base}/today`, { headers: auth });
    assertEquals(after.body.reachable, { production: 0, development: 0 });
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/apps/:appId/jobs/segment-sync answers 202, writes reports, and queues a rerun while locked", async () => {
  const { h, app, base, auth } = await setup();
  try {
    await h.call("PUT", `${base}/s`, { headers: auth, body: { name: "S" } });
    await h.call("POST", `${base}/s/members`, { headers: auth, body: { add: ["alice"] } });
    await register(h, app.appKey, { token: token(9), environment: "production", userId: "alice" });
    const started = await h.call("POST", `/v1/apps/${app.appId}/jobs/segment-sync`, {
      headers: auth,
    });
    assertEquals(started.status, 202);
    assertEquals(started.body, { appId: app.appId, status: "started", mode: "auto" });
    const seg = await waitFor(async () => {
      const got = await h.call("GET", `${base}/s`, { headers: auth });
      return got.body.syncedAt ? got.body : null;
    }, { what: "syncedAt" });
    assertEquals(seg.report.reachable, { production: 1, development: 0 });
    assertEquals(seg.report.users, 1);
    assertEquals(seg.report.added, 1);
    assertEquals(seg.report.mode, "full");
    // The lock is released once the run ends.
    await waitFor(
      async () => (await h.testRedis.redis.exists(segmentKeys.syncLock(app.appId))) === 0,
      { what: "lock release" },
    );
    assertEquals(await h.testRedis.redis.exists(registryKeys.seenWeeks(app.appId)), 1);
    // While another run holds the lock, a request is queued for that run to pass once more.
    const lock = await acquireSyncLock(h.testRedis.redis, app.appId);
    assertOk(lock);
    const busy = await h.call("POST", `/v1/apps/${app.appId}/jobs/segment-sync`, {
      headers: auth,
    });
    assertEquals(busy.status, 202);
    assertEquals(busy.body, { appId: app.appId, status: "queued", mode: "auto" });
    assertEquals(await h.testRedis.redis.exists(segmentKeys.syncRerun(app.appId)), 1);
    const syncedBefore = seg.syncedAt;
    const run = await runSegmentSync({
      redis: h.testRedis.redis,
      appIds: [app.appId],
      staleAfterDays: 270,
      heldLocks: new Map([[app.appId, lock]]),
    });
    assertEquals(run.apps.length, 1);
    assertEquals(await h.testRedis.redis.exists(segmentKeys.syncRerun(app.appId)), 0);
    assertEquals(await h.testRedis.redis.exists(segmentKeys.syncLock(app.appId)), 0);
    const resynced = await h.call("GET", `${base}/s`, { headers: auth });
    assertOk(resynced.body.syncedAt >= syncedBefore);
    assertEquals(resynced.body.reachable, { production: 1, development: 0 });
  } finally {
    await h.stop();
  }
});

Deno.test("PUT /v1/apps/:appId/jobs/token-probe stores the opt-in settings", async () => {
  const { h, app, auth } = await setup();
  try {
    const path = `/v1/apps/${app.appId}/jobs/token-probe`;
    assertEquals((await h.call("GET", path, { headers: auth })).body, {
      enabled: false,
      afterDays: 30,
      ratePerSecond: 50,
      lastReport: null,
    });
    const put = await h.call("PUT", path, {
      headers: auth,
      body: { enabled: true, afterDays: 14 },
    });
    assertEquals(put.body, { enabled: true, afterDays: 14, ratePerSecond: 50 });
    assertEquals((await h.call("GET", path, { headers: auth })).body, {
      ...put.body as object,
      lastReport: null,
    });
    const bad = await h.call("PUT", path, { headers: auth, body: { enabled: "yes" } });
    assertEquals(bad.status, 400);
  } finally {
    await h.stop();
  }
});

Deno.test("POST …/members streams every NDJSON media type past the 1 MiB body limit (application/jsonl too)", async () => {
  const { h, base, auth } = await setup();
  try {
    await h.call("PUT", `${base}/big`, { headers: auth, body: { name: "Big" } });
    // 1.2 MiB of user ids: over the body limit, which streamed uploads do not have.
    const lines = Array.from({ length: 50_000 }, (_, i) => `"user-${String(i).padStart(16, "0")}"`);
    const raw = `${lines.join("\n")}\n`;
    assertOk(raw.length > 1024 * 1024);
    for (const type of ["application/x-ndjson", "application/ndjson", "application/jsonl"]) {
      const res = await h.call("POST", `${base}/big/members?mode=replace`, {
        headers: { ...auth, "content-type": type },
        raw,
      });
      assertEquals(res.status, 200, `${type}: ${JSON.stringify(res.body).slice(0, 200)}`);
      assertEquals(res.body.members, 50_000);
    }
  } finally {
    await h.stop();
  }
});
