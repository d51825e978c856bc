import type { Redis } from "@upstash/redis";
import { assertEquals } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { createSegments, segmentKeys, type Segments } from "../../../lib/segments/mod.ts";
import type { RuleData } from "../../../lib/segments/schemas.ts";
import { runSegmentSync } from "../../../jobs/segment_sync.ts";
import {
  fakeRegistry,
  type InstFields,
  liveSets,
  oracle,
  prng,
  streamOf,
  testAppId,
} from "./_fixtures.ts";

const DAY = 86_400_000;
const USERS = Array.from({ length: 14 }, (_, i) => `user-${i}`);
const RULES: Record<string, RuleData | null> = {
  everyone: null,
  modern: { all: [{ attribute: "appVersion", op: "semverGte", value: "2" }] },
  english_or_dev: {
    any: [
      { attribute: "locale", op: "prefix", value: "en" },
      { attribute: "environment", op: "eq", value: "development" },
    ],
  },
  recent: {
    lastSeenWithinDays: 30,
    all: [{ attribute: "pushAuthorization", op: "in", value: ["authorized", "provisional"] }],
  },
};
const OTHER_RULE: RuleData = { all: [{ attribute: "tier", op: "eq", value: "gold" }] };

async function assertUsegIndex(redis: Redis, appId: string) {
  for (const user of USERS) {
    const useg = (await redis.smembers(segmentKeys.userSegments(appId, user))).map(String).sort();
    const expected: string[] = [];
    for (const sid of Object.keys(RULES)) {
      if (await redis.sismember(segmentKeys.members(appId, sid), user)) expected.push(sid);
    }
    assertEquals(useg, expected.sort(), `useg of ${user}`);
  }
}

async function runScenario(seed: number, steps: number) {
  const t = await startTestRedis();
  try {
    const { redis } = t;
    const appId = testAppId();
    let clock = 1_750_000_000_000;
    const segments: Segments = createSegments({ redis, now: () => clock });
    const registry = fakeRegistry(redis);
    const r = prng(seed);
    for (const [sid, rule] of Object.entries(RULES)) {
      await segments.put(appId, sid, { name: sid, rule });
    }
    const insts = new Map<string, InstFields>();
    let tokens = 0;
    let nextId = 0;

    const randomFields = (): InstFields => ({
      token: `tok${tokens++}`,
      environment: r.pick(["production", "development"] as const),
      userId: r.next() < 0.8 ? r.pick(USERS) : undefined,
      pushAuthorization: r.pick(["authorized", "provisional", "denied", "notDetermined"]),
      attributes: JSON.stringify({
        appVersion: r.pick(["1.9", "2.0.0", "2.1-beta", "10"]),
        locale: r.pick(["en-US", "fr-FR", "de"]),
        ...(r.next() < 0.3 ? { tier: r.pick(["gold", "silver"]) } : {}),
      }),
      status: "active",
      statusAt: String(clock),
      lastSeenAt: String(r.next() < 0.2 ? clock - 60 * DAY : clock),
    });

    const change = async (id: string, patch: Partial<InstFields>) => {
      const next = { ...insts.get(id)!, ...patch };
      insts.set(id, next);
      await registry.write(appId, id, next, clock);
    };

    const step = async (): Promise<void> => {
      clock += r.int(600_000);
      const ids = [...insts.keys()];
      const id = ids.length ? r.pick(ids) : null;
      const kind = r.int(15) - 1;
      if (kind <= 2 || !id) {
        const newId = ids.length < 40 && r.next() < 0.7
          ? `inst-${nextId++}`
          : id ?? `inst-${nextId++}`;
        insts.set(newId, randomFields());
        await registry.write(appId, newId, insts.get(newId)!, clock);
      } else if (kind === 3) await change(id, { userId: r.pick(USERS) }); // bind
      else if (kind === 4) await change(id, { userId: undefined }); // unbind
      else if (kind === 5 && r.next() < 0.5) {
        await change(id, {
          status: r.pick(["unregistered", "bad_token", "replaced", "deleted"]),
          statusAt: String(clock),
        });
      } else if (kind === 6) {
        await change(id, { pushAuthorization: r.pick(["authorized", "denied", "provisional"]) });
      } else if (kind === 7) {
        await change(id, {
          attributes: JSON.stringify({
            appVersion: r.pick(["1.0", "2.2", "3"]),
            locale: r.pick(["en-GB", "fr"]),
          }),
          lastSeenAt: String(clock),
        });
      } else if (kind === 8) {
        await change(id, {
          environment: r.pick(["production", "development"] as const),
          token: `tok${tokens++}`,
        });
      } else if (kind === 9 && r.next() < 0.3) {
        insts.delete(id);
        await registry.remove(appId, id, clock);
      } else if (kind === 10) {
        const sid = r.pick(Object.keys(RULES));
        const some = USERS.filter(() => r.next() < 0.3);
        await segments.updateMembers(appId, sid, r.next() < 0.7 ? { add: some } : { remove: some });
      } else if (kind === 11) {
        const sid = r.pick(Object.keys(RULES));
        const some = USERS.filter(() => r.next() < 0.75);
        await segments.uploadStream(appId, sid, streamOf(some.join("\n")), {
          format: "text",
          mode: r.next() < 0.5 ? "replace" : "append",
        });
      } else if (kind === 12 && r.next() < 0.3) {
        const sid = r.pick(["modern", "english_or_dev"]);
        const rule = r.next() < 0.5 ? RULES[sid] : OTHER_RULE;
        await segments.put(appId, sid, { name: sid, rule });
      } else {
        // A rebuild racing with installation changes: the build sets must follow them.
        const sid = r.pick(Object.keys(RULES));
        const others = Array.from({ length: 3 }, () => r.pick([...insts.keys()]));
        await Promise.all([
          segments.rebuild(appId, sid),
          ...others.map((o) => change(o, { userId: r.pick(USERS), lastSeenAt: String(clock) })),
        ]);
      }
    };

    const check = async (label: string) => {
      assertEquals(
        await liveSets(redis, appId),
        await oracle(redis, appId, clock),
        `${label}: incremental = oracle`,
      );
      for (const sid of Object.keys(RULES)) {
        const rebuilt = await segments.rebuild(appId, sid);
        assertEquals(
          rebuilt.added + rebuilt.removed,
          0,
          `${label}: rebuild of ${sid} changed nothing`,
        );
      }
      await assertUsegIndex(redis, appId);
    };

    for (let i = 1; i <= steps; i++) {
      await step();
      if (i % 50 === 0) await check(`seed ${seed} step ${i}`);
    }
    await check(`seed ${seed} end`);

    // A daily pass 40 days later: recency windows expire, stale and invalid ones go; the
    // incremental pass must land exactly where a full rebuild does.
    const before = await liveSets(redis, appId);
    const sizes = Object.values(before).map((s) => s.production.length + s.development.length);
    assertEquals(
      sizes.every((n) => n >= 1) && sizes.reduce((a, b) => a + b) >= 20,
      true,
      `seed ${seed}: segments too small to mean much: ${sizes}`,
    );
    clock += 40 * DAY;
    const report = await runSegmentSync({
      redis,
      appIds: [appId],
      now: () => clock,
      staleAfterDays: 50,
      retentionDays: 30,
      mode: "incremental",
      segments,
    });
    assertEquals(report.apps[0].status, "synced");
    assertEquals(
      await liveSets(redis, appId),
      await oracle(redis, appId, clock),
      `seed ${seed}: after daily pass`,
    );
    for (const sid of Object.keys(RULES)) {
      const view = await segments.get(appId, sid);
      assertEquals(view.report?.reachable, view.reachable);
      assertEquals(view.report?.mode, "incremental");
    }
    await check(`seed ${seed} after sync`);
  } finally {
    await t.stop();
  }
}

for (const seed of [1, 7, 42, 1234]) {
  Deno.test(`segment reach sets: incremental maintenance equals a full rebuild (seed ${seed})`, async () => {
    await runScenario(seed, 300);
  });
}
