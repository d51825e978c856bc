/**
 * The seeded random driver of the segment property test. Every step goes through the real
 * registry (lib/registry: the SDK calls and the APNs feedback calls) or the real segments store
 * (lib/segments: uploads, rule changes, deletions, rebuilds), the way routes and the relay call
 * them. The driver models only what the registry cannot tell: each segment's rule and members.
 *
 * Concurrent steps (a rebuild or a replace upload racing registry calls) draw their randomness
 * from a sub-generator each, so a seed replays the same calls whatever the interleaving.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import {
  type AttributeMap,
  createRegistry,
  type EnvironmentName,
  InstallationNotFound,
  type PushAuthorizationValue,
  type Registry,
  type UpdateOptions,
  UserNotFound,
} from "../../../lib/registry/mod.ts";
import {
  createSegments,
  RebuildSuperseded,
  segmentKeys,
  type Segments,
} from "../../../lib/segments/mod.ts";
import type { RuleData } from "../../../lib/segments/schemas.ts";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { tokenOf } from "../registry/_fixtures.ts";
import { prng, streamOf } from "./_fixtures.ts";

export const DAY = 86_400_000;
/** Users that register devices (and get uploaded). */
export const USERS = Array.from({ length: 12 }, (_, i) => `user-${i}`);
/** Users that are uploaded but never register a device. */
const GHOSTS = ["ghost-a", "ghost-b", "ghost-c"];
const UPLOADABLE = [...USERS, ...GHOSTS];
/** Devices the driver keeps handles (id + secret) for; older ones live on, unaddressed. */
const MAX_DEVICES = 50;

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

type Rng = ReturnType<typeof prng>;
interface Device {
  id: string;
  secret: string;
}

/** One app's scenario: a registry and segments store on a manual clock, plus the model. */
export class Scenario {
  clock: number;
  readonly registry: Registry;
  readonly segments: Segments;
  /** Segment id → rule and uploaded members, as the test expects them. */
  readonly model = new Map<string, { rule: RuleData | null; members: Set<string> }>();
  /** What the steps did, by outcome, for the test's report. */
  readonly tally: Record<string, number> = {};
  private readonly devices: Device[] = [];
  private tokens = 0;

  constructor(
    readonly redis: Redis,
    readonly appId: string,
    start: number,
    readonly rng: Rng,
  ) {
    this.clock = start;
    const now = () => this.clock;
    this.registry = createRegistry({ redis, now });
    this.segments = createSegments({ redis, now });
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

  // ---- the registry side ------------------------------------------------------------------

  private count(what: string) {
    this.tally[what] = (this.tally[what] ?? 0) + 1;
  }

  private freshToken(): string {
    return tokenOf(++this.tokens);
  }

  /** A token issued earlier, whoever holds it now (a reinstall reusing a token). */
  private oldToken(r: Rng): string {
    return this.tokens ? tokenOf(1 + r.int(this.tokens)) : this.freshToken();
  }

  private env(r: Rng): EnvironmentName {
    return r.pick(["production", "development"] as const);
  }

  private auth(r: Rng): PushAuthorizationValue {
    return r.pick(["authorized", "provisional", "ephemeral", "denied", "notDetermined"] as const);
  }

  private attrs(r: Rng): AttributeMap {
    return {
      appVersion: r.pick(["1.9", "2.0.0", "2.1-beta", "10", "2", "x"]),
      locale: r.pick(["en-US", "en_GB", "fr-FR", "de"]),
      ...(r.next() < 0.4 ? { tier: r.pick(["gold", "silver"]) } : {}),
      ...(r.next() < 0.4 ? { beta: r.next() < 0.5 } : {}),
      ...(r.next() < 0.3 ? { build: r.pick([7, 42, "42"]) } : {}),
    };
  }

  private remember(device: Device, r: Rng) {
    this.devices.push(device);
    if (this.devices.length > MAX_DEVICES) this.devices.splice(r.int(this.devices.length), 1);
  }

  /** Runs an SDK call for a device; a device pruned or erased meanwhile is forgotten. */
  private async sdk(what: string, device: Device, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
      this.count(what);
    } catch (error) {
      if (!(error instanceof InstallationNotFound)) throw error;
      const at = this.devices.indexOf(device);
      if (at >= 0) this.devices.splice(at, 1);
      this.count(`${what}:gone`);
    }
  }

  /** First launch; sometimes reusing another installation's token, or a restored id. */
  private async registerNew(r: Rng): Promise<void> {
    const reuse = r.next() < 0.25;
    const restored = this.devices.length > 0 && r.next() < 0.15 ? r.pick(this.devices) : null;
    const result = await this.registry.register(this.appId, {
      installationId: restored?.id,
      secret: restored ? r.pick([undefined, "not-the-secret"]) : undefined,
      token: reuse ? this.oldToken(r) : this.freshToken(),
      environment: this.env(r),
      userId: r.next() < 0.7 ? r.pick(USERS) : undefined,
      pushAuthorization: r.next() < 0.5 ? this.auth(r) : undefined,
      attributes: r.next() < 0.85 ? this.attrs(r) : undefined,
    });
    assertOk(result.created, "a new installation");
    this.remember({ id: result.installationId, secret: result.installationSecret }, r);
    this.count(restored ? "register:restored" : reuse ? "register:token_moved" : "register");
  }

  /** Refresh with id + secret: same token, a rotated one, or a reused one. */
  private async refresh(r: Rng): Promise<void> {
    const device = r.pick(this.devices);
    const current = (await this.registry.get(this.appId, device.id))?.token;
    const roll = r.next();
    const token = roll < 0.5 && current
      ? current
      : roll < 0.85
      ? this.freshToken()
      : this.oldToken(r);
    const result = await this.registry.register(this.appId, {
      installationId: device.id,
      secret: device.secret,
      token,
      environment: this.env(r),
      userId: r.next() < 0.3 ? r.pick(USERS) : undefined,
      pushAuthorization: r.next() < 0.3 ? this.auth(r) : undefined,
      attributes: r.next() < 0.4 ? this.attrs(r) : undefined,
    });
    if (result.created) {
      // Pruned or erased meanwhile: the SDK got a fresh installation ("restored").
      const at = this.devices.indexOf(device);
      if (at >= 0) this.devices.splice(at, 1);
      this.remember({ id: result.installationId, secret: result.installationSecret }, r);
      this.count("refresh:restored");
    } else this.count("refresh");
  }

  /** PATCH: any subset of token, environment, permission, attributes, user. */
  private async update(r: Rng): Promise<void> {
    const device = r.pick(this.devices);
    const input: UpdateOptions = { secret: device.secret };
    if (r.next() < 0.25) input.token = r.next() < 0.3 ? this.oldToken(r) : this.freshToken();
    if (r.next() < 0.3) input.environment = this.env(r);
    if (r.next() < 0.35) input.pushAuthorization = this.auth(r);
    if (r.next() < 0.4) input.attributes = this.attrs(r);
    if (r.next() < 0.15) input.userId = r.pick(USERS);
    await this.sdk("update", device, () => this.registry.update(this.appId, device.id, input));
  }

  private async bind(r: Rng): Promise<void> {
    const device = r.pick(this.devices);
    const userId = r.pick(USERS);
    await this.sdk(
      "bind",
      device,
      () => this.registry.bindUser(this.appId, device.id, { secret: device.secret, userId }),
    );
  }

  private async unbind(r: Rng): Promise<void> {
    const device = r.pick(this.devices);
    await this.sdk(
      "unbind",
      device,
      () => this.registry.unbindUser(this.appId, device.id, { secret: device.secret }),
    );
  }

  private async sdkDelete(r: Rng): Promise<void> {
    const device = r.pick(this.devices);
    await this.sdk(
      "delete",
      device,
      () => this.registry.remove(this.appId, device.id, { secret: device.secret }),
    );
  }

  /** The token APNs answered for: mostly the one held, sometimes an older one. */
  private async pushedToken(r: Rng) {
    const device = r.pick(this.devices);
    const inst = await this.registry.get(this.appId, device.id);
    const token = inst?.token && r.next() < 0.85 ? inst.token : this.oldToken(r);
    return { device, inst, token };
  }

  /** APNs 410, mostly with a timestamp later than the registration. */
  private async unregistered(r: Rng): Promise<void> {
    const { device, inst, token } = await this.pushedToken(r);
    const registered = inst?.registeredAt ? Date.parse(inst.registeredAt) : this.clock;
    const at = r.next() < 0.75 ? registered + 1 + r.int(60_000) : registered - r.int(60_000);
    const applied = await this.registry.markUnregistered(this.appId, device.id, token, at);
    this.count(applied ? "unregistered" : "unregistered:skipped");
  }

  private async badToken(r: Rng): Promise<void> {
    const { device, token } = await this.pushedToken(r);
    const reason = r.pick(["BadDeviceToken", "DeviceTokenNotForTopic"]);
    const applied = await this.registry.markBadToken(this.appId, device.id, token, reason);
    this.count(applied ? "bad_token" : "bad_token:skipped");
  }

  private async correctEnvironment(r: Rng): Promise<void> {
    const { device, inst, token } = await this.pushedToken(r);
    // The other host accepted the token (mostly the one it was not stored for).
    const other = inst?.environment === "production" ? "development" : "production";
    const env = r.next() < 0.8 ? other : this.env(r);
    const applied = await this.registry.correctEnvironment(this.appId, device.id, token, env);
    this.count(applied ? "correct_environment" : "correct_environment:skipped");
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

  /** A user's 101st installation and beyond: the least recently seen ones are unbound. */
  async flood(r: Rng = this.rng): Promise<void> {
    const userId = r.pick(USERS);
    const have = (await this.registry.userInstallations(this.appId, userId)).length;
    const target = 101 + r.int(3);
    for (let i = have; i < target; i++) {
      const result = await this.registry.register(this.appId, {
        token: this.freshToken(),
        environment: this.env(r),
        userId,
        attributes: this.attrs(r),
      });
      assertOk(result.created);
      if (r.next() < 0.05) {
        this.remember({ id: result.installationId, secret: result.installationSecret }, r);
      }
    }
    assertEquals((await this.registry.userInstallations(this.appId, userId)).length, 100);
    this.count("flood");
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

  /** A few registry calls, each with its own sub-generator, to run beside a rebuild. */
  private racers(r: Rng, n: number): (() => Promise<void>)[] {
    const calls = [this.bind, this.unbind, this.update, this.refresh, this.unregistered];
    return Array.from({ length: n }, () => {
      const call = this.devices.length ? r.pick(calls) : this.registerNew;
      const sub = prng(r.int(2 ** 31));
      // A few round trips first, so the calls land at different phases of the rebuild.
      return async () => {
        await this.pings(sub.int(8));
        await call.call(this, sub);
      };
    });
  }

  /** `n` round trips to Redis: shifts a concurrent call to a later phase of a rebuild. */
  private async pings(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.redis.ping();
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
