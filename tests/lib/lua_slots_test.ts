/**
 * Every Lua script stays in one cluster slot: the slot of its first key. Redis Cluster routes a
 * script by its KEYS, so a key in another slot would be refused (CROSSSLOT) or, on one node, hide
 * a bug until the day the product runs on a cluster.
 *
 * The test records what Redis saw (MONITOR on the test Redis) while a workload runs every script
 * of lib/ (and every function of a function library) through the real services: the segments property scenario (every registry and segment
 * script, the daily sync included), a campaign with a rate, a scheduled and a cancelled send, SDK
 * events and a test-session bind, with the SDK rate limits on. Each command a script ran is hashed key by
 * key (key positions from `@ioredis/commands`, as Redis Cluster clients find them) and compared
 * with the slot of the script's first key. It also checks that every script file ran.
 */
import { migrateRegistry } from "../../lib/registry/mod.ts";
import { createV1Writer } from "../support/registry_v1/mod.ts";
import IORedis from "ioredis";
import { getKeyIndexes } from "@ioredis/commands";
import calculateSlot from "cluster-key-slot";
import { assertEquals, assertOk } from "../support/assert.ts";
import { waitFor } from "../support/redis_server.ts";
import { startSendEnv, token } from "./sends/_env.ts";
import { prng, testAppId } from "./segments/_fixtures.ts";
import { DAY, Scenario } from "./segments/_scenario.ts";
import { runSegmentSync } from "../../jobs/segment_sync.ts";
import { register, sdkHeaders } from "../support/installation_calls.ts";
import { ADMIN_TOKEN } from "../support/harness.ts";

/** One `redis.register_function` of a library as lib/redis/function_library.ts writes it. */
const REGISTERED =
  /redis\.register_function\('([^']+)', function\(KEYS, ARGV\)\n([\s\S]*?)\nend\)\n/g;

interface Seen {
  source: string;
  args: string[];
}

/** Script files under lib/ (not the `_` libraries they are prepended with). */
async function scriptFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const area of Deno.readDir("lib")) {
    const dir = `lib/${area.name}/scripts`;
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.name.endsWith(".lua") || entry.name.startsWith("_")) continue;
        files.set(`${dir}/${entry.name}`, await Deno.readTextFile(`${dir}/${entry.name}`));
      }
    } catch { /* no scripts in this area */ }
  }
  return files;
}

/** MONITOR prints arguments escaped (`\\n`, `\\"`, UTF-8 bytes as `\\xHH`): the text as sent. */
function unescape(text: string): string {
  const bytes: number[] = [];
  const named: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8 };
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "\\") {
      bytes.push(...encoder.encode(text[i]));
    } else if (text[i + 1] === "x") {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      const c = text[++i];
      bytes.push(named[c] ?? c.charCodeAt(0));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function keysOf(args: string[]): string[] {
  const [name, ...rest] = args;
  try {
    return getKeyIndexes(name.toLowerCase(), rest).map((i) => rest[i]);
  } catch {
    return [];
  }
}

async function workload(url: string, seen: Seen[]) {
  // SDK rate limits on (never reached): their keys are touched inside the SDK calls' scripts.
  const rule = { limit: 1_000_000, windowSeconds: 60 };
  const env = await startSendEnv({ sdkRateLimit: { address: rule, installation: rule } });
  const monitor = await new IORedis.default(env.h.testRedis.url, {
    retryStrategy: () => null,
  }).monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    seen.push({ source, args: args.map(String) });
  });
  monitor.on("error", () => {});
  try {
    const redis = env.h.testRedis.redis;
    // The monitor is live once it reports a marker command.
    await waitFor(async () => {
      await redis.get("lua-slots-test-start");
      return seen.length > 0;
    }, { what: "the monitor to start" });
    // Registry and segments: the property scenario's random steps, then both daily passes.
    const s = new Scenario(redis, testAppId(), 20_250 * DAY, prng(7));
    await s.setup();
    for (let i = 1; i <= 160; i++) {
      if (i === 80) await s.flood();
      await s.step();
    }
    for (const mode of ["incremental", "full"] as const) {
      s.clock += 46 * DAY;
      await runSegmentSync({
        redis,
        appIds: [s.appId],
        now: () => s.clock,
        staleAfterDays: 45,
        retentionDays: 30,
        mode,
        segments: s.segments,
      });
    }
    // The layout migration, over an installation the previous layout wrote.
    await createV1Writer(redis).register(s.appId, {
      token: "ab".repeat(32),
      environment: "production",
      userId: "u_migrated", // so that it is in the old set of changed ids
    });
    await migrateRegistry({ redis, appIds: [s.appId] });
    // Segment readers: a reach bitmap scan and one installation's place (the diagnosis').
    const sid = [...s.model.keys()][0];
    const step = await s.segments.scanReachable(s.appId, sid, "production", "0");
    await s.segments.membership(s.appId, sid, {
      installationId: step.installationIds[0] ?? "in_none",
      environment: "production",
      userId: "u",
    });
    // Sends: a paced campaign, a scheduled send, a cancelled one, SDK events.
    const { h, app, auth } = env;
    const patched = await h.call("PATCH", `/v1/apps/${app.appId}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: { name: "Renamed" },
    });
    assertEquals(patched.status, 200, JSON.stringify(patched.body));
    await env.registerMany(20);
    const workers = env.startWorkers(1, { scheduleEveryMs: 20 });
    const paced = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: { audience: { all: true }, notification: { title: "Hi" }, ratePerSecond: 1000 },
    });
    assertEquals(paced.status, 202, JSON.stringify(paced.body));
    const done = await env.waitSend(paced.body.sendId, (v) => v.status === "completed");
    assertEquals(done.counts.accepted, 20);
    const later = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: {
        audience: { all: true },
        notification: { title: "Later" },
        scheduleAt: new Date(Date.now() + 300).toISOString(),
      },
    });
    await env.waitSend(later.body.sendId, (v) => v.status === "completed");
    const cancelled = await h.call("POST", `/v1/apps/${app.appId}/sends`, {
      headers: auth,
      body: {
        audience: { all: true },
        notification: { title: "Never" },
        scheduleAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    const cancel = await h.call(
      "POST",
      `/v1/apps/${app.appId}/sends/${cancelled.body.sendId}/cancel`,
      { headers: auth },
    );
    assertEquals(cancel.status, 200, JSON.stringify(cancel.body));
    await workers.stop();
    const reached = await env.register({ token: token(0) });
    const events = await h.call("POST", "/v1/sdk/events", {
      headers: { "x-app-key": app.appKey },
      body: { events: [{ type: "opened", sendId: paced.body.sendId, installationId: reached }] },
    });
    assertEquals(events.status, 202);
    // A test session's device bind.
    const session = await h.call("POST", `/v1/apps/${app.appId}/test-sessions`, {
      headers: auth,
      body: {},
    });
    const device = await register(h, app, { token: token(99), environment: "production" });
    const bind = await h.call("POST", `/v1/sdk/test-sessions/${session.body.code}/devices`, {
      headers: sdkHeaders(app, device.body.installationSecret),
      body: { installationId: device.body.installationId },
    });
    assertOk(bind.status < 300, JSON.stringify(bind.body));
    // The audit's own check: a script that strays from its slot on purpose.
    await redis.eval("return redis.call('GET', 'lua-slots-test-stray')", ["{probe}"], []);
    // MONITOR trails the replies: wait for a marker command.
    await redis.get(`lua-slots-test-marker:${url}`);
    await waitFor(() => seen.some((e) => e.args[1]?.startsWith("lua-slots-test-marker")), {
      what: "the monitor to catch up",
    });
  } finally {
    monitor.disconnect();
    await env.stop();
  }
}

Deno.test("every Lua script touches only keys in the slot of its first key, and every script ran", async () => {
  const seen: Seen[] = [];
  await workload("run", seen);
  const texts: string[] = [];
  const violations: string[] = [];
  let scripts = 0;
  let calls = 0;
  let slot = -1;
  let script = "";
  // Function libraries (lib/redis/function_library.ts): each function's text, by name.
  const functionTexts = new Map<string, string>();
  const called = new Set<string>();
  for (const { source, args } of seen) {
    const name = args[0]?.toLowerCase();
    if (source !== "lua") {
      slot = -1;
      if (name === "function" && args[1]?.toLowerCase() === "load") {
        const code = unescape(args[args.length - 1]);
        for (const m of code.matchAll(REGISTERED)) functionTexts.set(m[1], m[2]);
      }
      if (name !== "eval" && name !== "evalsha" && name !== "fcall") continue;
      if (name === "eval") texts.push(unescape(args[1]));
      if (name === "fcall") called.add(args[1]);
      const keys = args.slice(3, 3 + Number(args[2]));
      if (keys.length === 0) {
        violations.push(`a script was called without KEYS: ${args.join(" ").slice(0, 120)}`);
        continue;
      }
      slot = calculateSlot(keys[0]);
      script = args[1].slice(0, 60).replace(/\s+/g, " ");
      scripts++;
      for (const key of keys) {
        if (calculateSlot(key) !== slot) violations.push(`KEYS of ${script}: ${key}`);
      }
      continue;
    }
    calls++;
    if (slot < 0) continue; // a script whose EVALSHA line was a NOSCRIPT miss
    for (const key of keysOf(args)) {
      if (calculateSlot(key) !== slot) {
        violations.push(`${script}… ran ${args[0]} on ${key} (slot ${calculateSlot(key)})`);
      }
    }
  }
  assertEquals(
    violations.length,
    1,
    `keys outside the first key's slot:\n${violations.join("\n")}`,
  );
  assertOk(violations[0].includes("lua-slots-test-stray"), "the stray probe was caught");
  assertOk(scripts > 300 && calls > 5_000, `the workload ran ${scripts} scripts, ${calls} calls`);
  for (const fn of called) {
    const text = functionTexts.get(fn);
    assertOk(text !== undefined, `FCALL of ${fn}, whose FUNCTION LOAD was not seen`);
    texts.push(text);
  }
  assertOk(called.size > 0, "the registry's functions ran");
  const missing: string[] = [];
  for (const [path, text] of await scriptFiles()) {
    const body = text.replace(/^#!.*\n/, "").trim();
    if (!texts.some((t) => t.includes(body))) missing.push(path);
  }
  assertEquals(missing, [], "script files the workload never ran");
});
