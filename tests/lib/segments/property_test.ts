/**
 * Property: after any random sequence of registrations, binds, invalidations and uploads — all
 * made through the real registry and segments store (tests/lib/segments/_scenario.ts) — the
 * incremental state equals a full rebuild. Checked at checkpoints against two references:
 * - the oracle (`expectedReach`): reach sets computed with the pure TS rule evaluator from the
 *   installation hashes as stored and the members the test uploaded;
 * - the daily job in `full` mode, which rebuilds every segment from its members into fresh
 *   snapshots and counts what the swap changed (`corrected`), which must be 0.
 * Each checkpoint also checks the registry's own indexes, the members, the user → segments index
 * and the counts `GET …/segments` shows, then jumps the clock and runs the incremental daily
 * pass (stale marking, pruning, recency windows), which must land exactly where a full rebuild
 * does.
 *
 * Time: steps move the clock by minutes within a period that starts on a day boundary, and the
 * clock jumps between periods by an even number of days. The rules' recency windows are odd
 * numbers of days, so no installation crosses a window between an incremental evaluation and the
 * next check (an incremental evaluation holds "as of the last change or sync", by design).
 */
import { assertEquals, assertOk } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { type AppSyncReport } from "../../../lib/segments/mod.ts";
import { segmentKeys } from "../../../lib/segments/_keys.ts";
import { runSegmentSync } from "../../../jobs/segment_sync.ts";
import { assertRegistryInvariants } from "../registry/invariants.ts";
import {
  expectedReach,
  expectedUserSegments,
  liveSets,
  prng,
  readUserSegments,
  testAppId,
} from "./_fixtures.ts";
import { DAY, Scenario } from "./_scenario.ts";

const SEEDS = [1, 7, 42, 1234, 99_991];
const STEPS = 300;
const CHECK_EVERY = 60;
/**
 * Clock jumps between periods, one per checkpoint. Single jumps and sums of consecutive ones
 * cross the 7-day window (8, 6 + 2) and the 31-day window (24 + 8) — the sums for installations
 * that were not changed in the period just before, which only the recency pass catches — then
 * retention (30) and staleness (45).
 */
const JUMPS_DAYS = [6, 2, 24, 8, 46];
const STALE_AFTER_DAYS = 45;
const RETENTION_DAYS = 30;
/** Step kinds (see Scenario's tally) that every seed must have run at least once. */
const EXPECTED_STEPS = [
  "register",
  "register:token_moved",
  "register:restored",
  "refresh",
  "update",
  "bind",
  "unbind",
  "delete",
  "unregistered",
  "unregistered:skipped",
  "bad_token",
  "correct_environment",
  "erase_user",
  "flood",
  "members_json",
  "stream_append",
  "stream_replace",
  "put_rule",
  "put_create",
  "segment_delete",
  "race_rebuild",
  "race_replace",
  "race_replace:rule",
  "race_replace:rebuild",
  "sync:stale",
  "sync:pruned",
];

/** Everything that must agree with the oracle; returns the expected reach sets. */
async function assertConsistent(s: Scenario, label: string) {
  const { redis, appId } = s;
  const installations = await assertRegistryInvariants(redis, appId);
  const expected = expectedReach(installations, s.model, s.clock);
  assertEquals(await liveSets(redis, appId), expected, `${label}: reach sets = oracle`);
  assertEquals(await s.segments.ids(appId), [...s.model.keys()].sort(), `${label}: segment ids`);
  for (const [sid, { members }] of s.model) {
    const stored = (await redis.smembers(segmentKeys.members(appId, sid))).map(String);
    assertEquals(stored.sort(), [...members].sort(), `${label}: members of ${sid}`);
  }
  assertEquals(
    await readUserSegments(redis, appId),
    expectedUserSegments(s.model),
    `${label}: user → segments index`,
  );
  for (const view of await s.segments.list(appId)) {
    const sid = view.segmentId;
    assertEquals(view.users, s.model.get(sid)!.members.size, `${label}: GET users of ${sid}`);
    assertEquals(view.rule, s.model.get(sid)!.rule, `${label}: GET rule of ${sid}`);
    assertEquals(
      view.reachable,
      {
        production: expected[sid].production.length,
        development: expected[sid].development.length,
      },
      `${label}: GET reachable of ${sid}`,
    );
  }
  return expected;
}

async function sync(s: Scenario, mode: "full" | "incremental"): Promise<AppSyncReport> {
  const report = await runSegmentSync({
    redis: s.redis,
    appIds: [s.appId],
    now: () => s.clock,
    staleAfterDays: STALE_AFTER_DAYS,
    retentionDays: RETENTION_DAYS,
    mode,
    segments: s.segments,
  });
  const app = report.apps[0] as AppSyncReport;
  assertEquals(app.status, "synced", JSON.stringify(app));
  s.tally["sync:stale"] = (s.tally["sync:stale"] ?? 0) + app.stale;
  s.tally["sync:pruned"] = (s.tally["sync:pruned"] ?? 0) + app.pruned;
  return app;
}

/** A full pass: every segment rebuilt from its members must change nothing. */
async function assertFullRebuildAgrees(s: Scenario, label: string) {
  const before = await liveSets(s.redis, s.appId);
  const report = await sync(s, "full");
  for (const sid of s.model.keys()) {
    const r = report.segments[sid];
    assertEquals([r.mode, r.corrected], ["full", 0], `${label}: full rebuild of ${sid} corrected`);
    const view = await s.segments.get(s.appId, sid);
    assertEquals(r.reachable, view.reachable, `${label}: report counts of ${sid} = GET`);
    assertEquals(r.users, view.users, `${label}: report users of ${sid} = GET`);
  }
  // Stale marking and pruning may have run (incrementally) first; the sets left must match.
  const after = await assertConsistent(s, `${label} after full sync`);
  if (report.stale === 0 && report.pruned === 0) {
    assertEquals(after, before, `${label}: a full pass changed the reach sets`);
  }
}

async function runScenario(seed: number) {
  const t = await startTestRedis();
  try {
    let period = 20_250 * DAY; // a day boundary
    const s = new Scenario(t.redis, testAppId(), period, prng(seed));
    await s.setup();
    let largest = 0;
    for (let i = 1; i <= STEPS; i++) {
      if (i === STEPS / 2) await s.flood(); // a user past 100 installations
      await s.step();
      if (i % CHECK_EVERY !== 0) continue;
      const label = `seed ${seed} step ${i}`;
      const reach = await assertConsistent(s, `${label} incremental`);
      const sizes = Object.values(reach).map((r) => r.production.length + r.development.length);
      largest = Math.max(largest, ...sizes);
      await assertFullRebuildAgrees(s, label);
      // The next period: an even number of days later; the daily pass runs at its start.
      const days = JUMPS_DAYS[(i / CHECK_EVERY - 1) % JUMPS_DAYS.length];
      period += days * DAY;
      s.clock = period;
      const pass = await sync(s, "incremental");
      for (const r of Object.values(pass.segments)) assertEquals(r.mode, "incremental");
      await assertConsistent(s, `${label} +${days}d incremental sync`);
      await assertFullRebuildAgrees(s, `${label} +${days}d`);
    }
    // The scenario must have meant something: every kind of step ran, segments were not tiny.
    for (const op of EXPECTED_STEPS) {
      assertOk(s.tally[op], `seed ${seed}: ${op} never ran: ${JSON.stringify(s.tally)}`);
    }
    assertOk(largest >= 20, `seed ${seed}: segments too small to mean much (${largest})`);
    return s.tally;
  } finally {
    await t.stop();
  }
}

for (const seed of SEEDS) {
  Deno.test(`segments: incremental state equals a full rebuild after ${STEPS} random steps through the real registry (seed ${seed})`, async () => {
    const tally = await runScenario(seed);
    if (Deno.env.get("SEGMENTS_PROPERTY_VERBOSE")) console.log(seed, tally);
  });
}
