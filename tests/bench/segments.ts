/**
 * Segment sync benchmark: seeds installations × segments straight into a private
 * redis-server (server-side Lua, so seeding is quick), then measures a full rebuild of every
 * segment and a daily pass after 1% churn, with peak RSS and the Redis commands each used
 * (INFO commandstats deltas, commands run inside Lua included). Prints them beside
 * the README's performance targets.
 *
 *   deno run -A tests/bench/segments.ts [--installations 1000000] [--segments 20]
 *
 * @module
 */
import IORedis from "ioredis";
import { startTestRedis } from "../support/redis_server.ts";
import { createSegments, withLibrary } from "../../lib/segments/mod.ts";
import { installationCodecLua } from "../../lib/registry/mod.ts";
import { runSegmentSync } from "../../jobs/segment_sync.ts";

const DAY = 86_400_000;

/** Options for {@linkcode runSegmentsBench}. */
export interface SegmentsBenchOptions {
  /** Installations to seed. Default: 1,000,000. */
  installations?: number;
  /** Segments. Default: 20. */
  segments?: number;
  /** Share of installations changed before the daily pass. Default: 0.01. */
  churn?: number;
  /** Progress output. Default: none. */
  log?: (line: string) => void;
}

/** One result row. */
export interface BenchRow {
  metric: string;
  value: string;
  target: string;
}

const seedLua = `
-- ARGV: prefix, from, to, users, now, segments
local prefix, from, to, users, now, nseg = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local versions = { "1.9.0", "2.0.0", "2.3.1", "3.0" }
local locales = { "en-US", "en-GB", "fr-FR", "de-DE", "ja-JP" }
for i = from, to - 1 do
  local id = "i" .. i
  local user = "u" .. (i % users)
  local env = (i % 10 == 0) and "development" or "production"
  local seen = now - (i % 60) * 86400000
  -- Stored as the registry stores it (its codec, prepended).
  local flat = {}
  local t = { token = string.format("%064x", i), environment = env,
    userId = user, pushAuthorization = (i % 17 == 0) and "denied" or "authorized",
    attributes = { appVersion = versions[i % 4 + 1], locale = locales[i % 5 + 1] },
    status = "active", statusAt = now, registeredAt = now, lastSeenAt = seen, createdAt = now,
    secretHash = string.format("%064x", i) }
  inst_number(prefix, id, t) -- its number, for the segments' reach bitmaps
  for f, v in pairs(inst_encode(t)) do
    flat[#flat + 1] = f
    flat[#flat + 1] = v
  end
  redis.call("HSET", prefix .. "inst:" .. id, unpack(flat))
  redis.call("ZADD", prefix .. "user:" .. user, seen, id)
  seen_put(prefix, tonumber(t.n), seen, true)
  if i % 17 ~= 0 then redis.call("SETBIT", prefix .. "rb:" .. env, tonumber(t.n), 1) end
end
-- members: user k is in segment s when (k + 7s) % 10 == 0 (10% of users per segment)
if from < users then
  for k = from, math.min(to, users) - 1 do
    for s = 0, nseg - 1 do
      if (k + 7 * s) % 10 == 0 then
        redis.call("SADD", prefix .. "seg:s" .. s .. ":members", "u" .. k)
        redis.call("HSET", prefix .. "useg:u" .. k, "s" .. s, "1")
      end
    end
  end
end
return 1
`;

const churnLua = `
-- Changes installations the way registry scripts do (attributes and lastSeenAt), then reindexes.
-- ARGV: prefix, now, ids...
local prefix, now = ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV do
  local id = ARGV[i]
  local inst = seg_load_inst(prefix, id)
  local before = inst.lastSeenAt
  inst.lastSeenAt = tostring(now)
  inst.attributes = { appVersion = "3.1", locale = "en-AU" }
  local flat = {}
  for f, v in pairs(inst_encode(inst)) do
    flat[#flat + 1] = f
    flat[#flat + 1] = v
  end
  redis.call("HSET", prefix .. "inst:" .. id, unpack(flat))
  redis.call("ZADD", prefix .. "user:" .. inst.userId, now, id)
  seen_move(prefix, tonumber(inst.n), before, now)
  segment_reindex(prefix, id, inst, inst_reachable(inst), inst.userId, now)
end
return 1
`;

function rules(s: number) {
  switch (s % 4) {
    case 0:
      return null;
    case 1:
      return { all: [{ attribute: "appVersion", op: "semverGte" as const, value: "2.0" }] };
    case 2:
      return { any: [{ attribute: "locale", op: "prefix" as const, value: "en" }] };
    default:
      return { lastSeenWithinDays: 30 };
  }
}

async function commandCalls(client: IORedis.default): Promise<Map<string, number>> {
  const text = await client.info("commandstats");
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1], Number(m[2]));
  return out;
}

function summarize(before: Map<string, number>, after: Map<string, number>): [number, string] {
  const deltas: [string, number][] = [];
  for (const [cmd, n] of after) {
    const d = n - (before.get(cmd) ?? 0);
    if (d > 0 && cmd !== "info") deltas.push([cmd, d]);
  }
  deltas.sort((a, b) => b[1] - a[1]);
  const total = deltas.reduce((a, [, n]) => a + n, 0);
  return [total, deltas.slice(0, 6).map(([c, n]) => `${c} ${n}`).join(", ")];
}

/** Runs the benchmark and returns its rows. */
export async function runSegmentsBench(options: SegmentsBenchOptions = {}): Promise<BenchRow[]> {
  const n = options.installations ?? 1_000_000;
  const nseg = options.segments ?? 20;
  const churn = options.churn ?? 0.01;
  const log = options.log ?? (() => {});
  const users = Math.floor(n * 0.8);
  const t = await startTestRedis();
  const client = new IORedis.default(t.url);
  let peakRss = Deno.memoryUsage().rss;
  const sampler = setInterval(() => peakRss = Math.max(peakRss, Deno.memoryUsage().rss), 100);
  try {
    const appId = "app_bbbbbbbbbbbbbbbbbbbbbbbb";
    const prefix = `ep:v1:{${appId}}:`;
    let clock = 1_750_000_000_000;
    const segments = createSegments({ redis: t.redis, now: () => clock });
    for (let s = 0; s < nseg; s++) {
      await segments.put(appId, `s${s}`, { name: `S${s}`, rule: rules(s) });
    }
    const seedStarted = performance.now();
    const seed = t.redis.createScript<number>(`${installationCodecLua}\n${seedLua}`);
    const chunk = 2_000;
    for (let from = 0; from < n; from += chunk) {
      await seed.exec([`${prefix}seen`], [
        prefix,
        String(from),
        String(Math.min(n, from + chunk)),
        String(users),
        String(clock),
        String(nseg),
      ]);
    }
    log(
      `seeded ${n} installations, ${users} users, ${nseg} segments in ${
        ((performance.now() - seedStarted) / 1000).toFixed(1)
      } s`,
    );

    // Full rebuild of every segment.
    let before = await commandCalls(client);
    let started = performance.now();
    const full = await runSegmentSync({
      redis: t.redis,
      appIds: [appId],
      now: () => clock,
      staleAfterDays: 270,
      mode: "full",
      segments,
    });
    const fullMs = performance.now() - started;
    const [fullCmds, fullTop] = summarize(before, await commandCalls(client));
    const appReport = full.apps[0] as {
      segments?: Record<string, { reachable: { production: number; development: number } }>;
    };
    const reachable = Object.values(appReport.segments ?? {}).reduce(
      (a, s) => a + s.reachable.production + s.reachable.development,
      0,
    );
    log(`full rebuild: ${(fullMs / 1000).toFixed(2)} s, ${reachable} reachable entries`);

    // 1% churn through segment_reindex, then the daily (incremental) pass one day later.
    const churnScript = t.redis.createScript<number>(withLibrary(churnLua));
    const changed = Math.floor(n * churn);
    clock += 3600_000;
    for (let i = 0; i < changed; i += 1000) {
      const ids = Array.from(
        { length: Math.min(1000, changed - i) },
        (_, k) => `i${((i + k) * 7919) % n}`,
      );
      await churnScript.exec([`${prefix}seen`], [prefix, String(clock), ...ids]);
    }
    clock += DAY;
    before = await commandCalls(client);
    started = performance.now();
    const daily = await runSegmentSync({
      redis: t.redis,
      appIds: [appId],
      now: () => clock,
      staleAfterDays: 270,
      mode: "incremental",
      segments,
    });
    const dailyMs = performance.now() - started;
    const [dailyCmds, dailyTop] = summarize(before, await commandCalls(client));
    const dailyApp = daily.apps[0] as { reconciled?: number };
    log(`daily pass: ${(dailyMs / 1000).toFixed(2)} s, reconciled ${dailyApp.reconciled}`);
    const memory = await client.info("memory");
    const redisMb = Number(/used_memory:(\d+)/.exec(memory)?.[1] ?? 0) / 1e6;
    return [
      {
        metric: `full rebuild (${n} installations × ${nseg} segments)`,
        value: `${(fullMs / 1000).toFixed(2)} s`,
        target: "≤ 60 s",
      },
      { metric: "full rebuild Redis commands", value: `${fullCmds} (${fullTop})`, target: "" },
      {
        metric: `daily pass at ${churn * 100}% churn (${changed} changed)`,
        value: `${(dailyMs / 1000).toFixed(2)} s`,
        target: "≤ 5 s",
      },
      {
        metric: "daily pass Redis commands",
        value: `${dailyCmds} (${dailyTop}); reconciled ${dailyApp.reconciled} ids`,
        target: "proportional to changes",
      },
      { metric: "peak RSS (bench process)", value: `${(peakRss / 1e6).toFixed(0)} MB`, target: "" },
      { metric: "Redis used_memory", value: `${redisMb.toFixed(0)} MB`, target: "" },
    ];
  } finally {
    clearInterval(sampler);
    client.disconnect();
    await t.stop();
  }
}

if (import.meta.main) {
  const args = Deno.args;
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const rows = await runSegmentsBench({
    installations: flag("--installations"),
    segments: flag("--segments"),
    log: (line) => console.log(`# ${line}`),
  });
  console.table(rows);
}
