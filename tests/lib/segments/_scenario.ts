/**
 * The seeded random driver of the segment property test. Every step goes through the real
 * registry (lib/registry: the SDK calls and the APNs feedback calls, in `_registry_driver.ts`) or
 * the real segments store (lib/segments: uploads, rule changes, deletions, rebuilds), the way
 * routes and the relay call them. The driver models only what the registry cannot tell: each
 * segment's rule and members.
 *
 * Concurrent steps (a rebuild or a replace upload racing registry calls) draw their randomness
 * from a sub-generator each, so a seed replays the same calls whatever the interleaving.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { UserNotFound } from "../../../lib/registry/mod.ts";
import { createSegments, RebuildSuperseded, type Segments } from "../../../lib/segments/mod.ts";
import { segmentKeys } from "../../../lib/segments/_keys.ts";
import type { RuleData } from "../../../lib/segments/schemas.ts";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { streamOf } from "./_fixtures.ts";
import { RegistryDriver, type Rng, USERS } from "./_registry_driver.ts";

/** A day, in milliseconds. */
export const DAY = 86_400_000;
/** Users that are uploaded but never register a device. */
const GHOSTS = ["ghost-a", "ghost-b", "ghost-c"];
const UPLOADABLE = [...USERS, ...GHOSTS];

/**
 * The segments every scenario starts with. Recency windows are an odd number of days and the
 * clock only jumps by even numbers of days (see property_test.ts), so no installation crosses a
 * window between an incremental evaluation and the check that follows it.
 */
export const RULES: Record<string, RuleData | null> = {
  everyone: null,
  modern: { all: [{ attribute: "appVersion", op: "semverGte", value: "2" }] },
  english_or_dev: {
    any: [
      { attribute: "locale", op: "prefix", value: "en" },
      { attribute: "environment", op: "eq", value: "development" },
    ],
  },
  recent: {
    lastSeenWithinDays: 31,
    all: [{ attribute: "pushAuthorization", op: "in", value: ["authorized", "provisional"] }],
  },
  gold_week: {
    lastSeenWithinDays: 7,
    all: [{ attribute: "tier", op: "eq", value: "gold" }],
    any: [
      { attribute: "beta", op: "eq", value: true },
      { attribute: "build", op: "in", value: [42, 7] },
    ],
  },
};
/** Rules a PUT may switch a segment to. */
const ALT_RULES: (RuleData | null)[] = [
  null,
  { all: [{ attribute: "appVersion", op: "semverLt", value: "2.1" }] },
  { all: [{ attribute: "environment", op: "eq", value: "production" }], lastSeenWithinDays: 3 },
  {
    any: [
      { attribute: "build", op: "eq", value: "42" },
      { attribute: "tier", op: "eq", value: "silver" },
    ],
  },
];

/** One app's scenario: the registry driver plus a segments store on the same clock, and the model. */
export class Scenario extends RegistryDriver {
  readonly segments: Segments;
  /** Segment id → rule and uploaded members, as the test expects them. */
  readonly model = new Map<string, { rule: RuleData | null; members: Set<string> }>();

  constructor(redis: Redis, appId: string, start: number, rng: Rng) {
    super(redis, appId, start, rng);
    this.segments = createSegments({ redis, now: () => this.clock });
  }

  /** Creates the starting segments, 30 installations and a first upload to each segment. */
  async setup(): Promise<void> {
    for (const [sid, rule] of Object.entries(RULES)) {
      await this.segments.put(this.appId, sid, { name: sid, rule });
      this.model.set(sid, { rule, members: new Set() });
    }
    for (let i = 0; i < 30; i++) await this.registerNew(this.rng);
    for (const sid of this.model.keys()) await this.stream(this.rng, sid, "replace");
  }

  /** One random step; the clock moves by up to 8 minutes first. */
  async step(): Promise<void> {
    this.clock += this.rng.int(8 * 60_000);
    const r = this.rng;
    const roll = r.int(100);
    if (roll < 18 || this.devices.length === 0) return await this.registerNew(r);
    if (roll < 26) return await this.refresh(r);
    if (roll < 35) return await this.update(r);
    if (roll < 42) return await this.bind(r);
    if (roll < 46) return await this.unbind(r);
    if (roll < 48) return await this.sdkDelete(r);
    if (roll < 52) return await this.unregistered(r);
    if (roll < 54) return await this.badToken(r);
    if (roll < 57) return await this.correctEnvironment(r);
    if (roll < 59) return await this.eraseUser(r);
    if (roll < 69) return await this.membersJson(r);
    if (roll < 77) return await this.stream(r);
    if (roll < 81) return await this.putRule(r);
    if (roll < 83) return await this.deleteSegment(r);
    if (roll < 89) return await this.raceRebuild(r);
    if (roll < 95) return await this.raceReplace(r);
    return await this.registerNew(r);
  }

  /** DELETE …/users/:userId: gone from the registry and from every segment's members. */
  private async eraseUser(r: Rng): Promise<void> {
    const user = r.pick(UPLOADABLE);
    const member = [...this.model.values()].some((s) => s.members.has(user));
    try {
      await this.registry.eraseUser(this.appId, user);
      this.count("erase_user");
    } catch (error) {
      if (!(error instanceof UserNotFound)) throw error;
      assertOk(!member, `erasing ${user}, a segment member, answered not found`);
      this.count("erase_user:not_found");
    }
    for (const s of this.model.values()) s.members.delete(user);
  }

  // ---- the segments side ------------------------------------------------------------------

  private liveSegment(r: Rng): string | null {
    const sids = [...this.model.keys()];
    return sids.length ? r.pick(sids) : null;
  }

  /** JSON `{add?, remove?}`; the script applies add before remove. */
  private async membersJson(r: Rng, sid = this.liveSegment(r)): Promise<void> {
    if (!sid) return await this.putRule(r);
    const pick = () => UPLOADABLE.filter(() => r.next() < 0.3);
    const roll = r.next();
    const input = roll < 0.5 ? { add: pick() } : roll < 0.8 ? { remove: pick() } : {
      add: pick(),
      remove: pick(),
    };
    const result = await this.segments.updateMembers(this.appId, sid, input);
    const members = this.model.get(sid)!.members;
    for (const u of input.add ?? []) members.add(u);
    for (const u of input.remove ?? []) members.delete(u);
    assertEquals(result.members, members.size, `members of ${sid} after a JSON upload`);
    this.count("members_json");
  }

  /** The body of a streamed upload: text or NDJSON, with a duplicate and blank lines. */
  private streamBody(r: Rng, users: string[]): { body: string; format: "text" | "ndjson" } {
    const format = r.pick(["text", "ndjson"] as const);
    const lines = users.map((u) =>
      format === "text" ? u : JSON.stringify(r.next() < 0.5 ? u : { userId: u })
    );
    if (lines.length && r.next() < 0.3) lines.push(lines[0], "");
    return { body: lines.join("\n") + (r.next() < 0.5 ? "\n" : ""), format };
  }

  private async stream(
    r: Rng,
    sid = this.liveSegment(r),
    mode = r.pick(["replace", "append"] as const),
  ): Promise<void> {
    if (!sid) return await this.putRule(r);
    const users = UPLOADABLE.filter(() => r.next() < 0.6);
    const { body, format } = this.streamBody(r, users);
    const result = await this.segments.uploadStream(this.appId, sid, streamOf(body), {
      format,
      mode,
    });
    const model = this.model.get(sid)!;
    model.members = mode === "replace" ? new Set(users) : new Set([...model.members, ...users]);
    assertEquals(result.members, model.members.size, `members of ${sid} after a ${mode} upload`);
    this.count(`stream_${mode}`);
  }

  /** PUT: a rule change (rebuilds), or re-creating a deleted segment. */
  private async putRule(r: Rng): Promise<void> {
    const sid = r.pick(Object.keys(RULES));
    const rule = r.next() < 0.5 ? RULES[sid] : r.pick(ALT_RULES);
    await this.segments.put(this.appId, sid, { name: sid, rule });
    const existing = this.model.get(sid);
    if (existing) existing.rule = rule;
    else this.model.set(sid, { rule, members: new Set() });
    this.count(existing ? "put_rule" : "put_create");
  }

  private async deleteSegment(r: Rng): Promise<void> {
    const sid = this.liveSegment(r);
    if (!sid || this.model.size <= 2) return await this.putRule(r);
    await this.segments.remove(this.appId, sid);
    this.model.delete(sid);
    this.count("segment_delete");
  }

  /** A rebuild (as the daily job or a rule change runs it) racing registry calls. */
  private async raceRebuild(r: Rng): Promise<void> {
    const sid = this.liveSegment(r);
    if (!sid) return await this.putRule(r);
    const others = this.racers(r, 2 + r.int(4));
    await Promise.all([this.segments.rebuild(this.appId, sid), ...others.map((f) => f())]);
    this.count("race_rebuild");
  }

  /** A replace upload racing registry calls and a JSON upload to the same segment. */
  private async raceReplace(r: Rng): Promise<void> {
    const sid = this.liveSegment(r);
    if (!sid) return await this.putRule(r);
    const users = UPLOADABLE.filter(() => r.next() < 0.6);
    const { body, format } = this.streamBody(r, users);
    const json = r.next() < 0.5
      ? { add: UPLOADABLE.filter(() => r.next() < 0.2) }
      : { remove: UPLOADABLE.filter(() => r.next() < 0.2) };
    const others = this.racers(r, 2 + r.int(4));
    const jsonDelay = r.int(8);
    // Sometimes a rule change or the daily job's rebuild of the same segment races it too.
    const rival = r.pick(["none", "rule", "rebuild"] as const);
    const rule = rival === "rule" ? r.pick([RULES[sid] ?? null, ...ALT_RULES]) : null;
    const rivalDelay = r.int(12);
    await Promise.all([
      this.segments.uploadStream(this.appId, sid, streamOf(body), { format, mode: "replace" }),
      this.pings(jsonDelay).then(() => this.segments.updateMembers(this.appId, sid, json)),
      this.pings(rivalDelay).then(async () => {
        if (rival === "rule") {
          await this.segments.put(this.appId, sid, { name: sid, rule });
          this.model.get(sid)!.rule = rule;
        } else if (rival === "rebuild") {
          // The daily job gives way to a newer rebuild (lib/segments/sync.ts).
          await this.segments.rebuild(this.appId, sid).catch((error) => {
            if (!(error instanceof RebuildSuperseded)) throw error;
          });
        }
      }),
      ...others.map((f) => f()),
    ]);
    // The JSON upload landed before the swap (lost with the old members) or after it.
    const key = segmentKeys.members(this.appId, sid);
    const actual = new Set((await this.redis.smembers(key)).map(String));
    const after = new Set(users);
    for (const u of json.add ?? []) after.add(u);
    for (const u of json.remove ?? []) after.delete(u);
    const sorted = (s: Set<string>) => [...s].sort();
    assertOk(
      [sorted(new Set(users)), sorted(after)].some((m) =>
        JSON.stringify(m) === JSON.stringify(sorted(actual))
      ),
      `members of ${sid} after a racing replace: ${sorted(actual)}`,
    );
    this.model.get(sid)!.members = actual;
    this.count(`race_replace${rival === "none" ? "" : `:${rival}`}`);
  }
}
