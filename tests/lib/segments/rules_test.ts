import { assertEquals } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import {
  compareSemver,
  matchesRule,
  parseSemver,
  type RuleSubject,
} from "../../../lib/segments/rules.ts";
import { type ConditionData, Rule, type RuleData } from "../../../lib/segments/schemas.ts";
import { withLibrary } from "../../../lib/segments/scripts.ts";
import { prng } from "./_fixtures.ts";

const DAY = 86_400_000;
const NOW = 1_750_000_000_000;

// Evaluates many (rule, installation) cases in one Lua call with the library's evaluator.
const luaEval = withLibrary(`
local cases = cjson.decode(ARGV[1])
local out = {}
for i, c in ipairs(cases) do
  local rule = false
  if c[1] ~= "" then rule = cjson.decode(c[1]) end
  out[i] = seg_rule_match(rule, c[2], tonumber(ARGV[2])) and 1 or 0
end
return out
`);

const versions = [
  "1.2.3",
  "1.10",
  "1.9.9",
  "2",
  "2.0",
  "2.0.0-beta.1",
  "2.0.1+build",
  "v2",
  "",
  "1..2",
  "10.0",
  2,
  true,
];
const locales = ["en-US", "en-GB", "fr-FR", "EN", "e", 3];
const tiers = ["gold", "silver", 1, "1", false, true];

function randomSubject(r: ReturnType<typeof prng>): RuleSubject {
  const attributes: Record<string, unknown> = {};
  if (r.next() < 0.8) attributes.appVersion = r.pick(versions);
  if (r.next() < 0.8) attributes.locale = r.pick(locales);
  if (r.next() < 0.5) attributes.tier = r.pick(tiers);
  if (r.next() < 0.1) attributes.nested = null;
  return {
    environment: r.pick(["production", "development", undefined]),
    pushAuthorization: r.pick(["authorized", "provisional", "denied", undefined]),
    attributes,
    lastSeenAt: r.pick([String(NOW - 2 * DAY), String(NOW - 40 * DAY), String(NOW), "", undefined]),
  };
}

/** Values `environment` and `pushAuthorization` take; Rule refuses any other for them. */
const builtIn: Record<string, string[]> = {
  environment: ["production", "development"],
  pushAuthorization: ["authorized", "provisional", "denied"],
};

function randomCondition(r: ReturnType<typeof prng>): ConditionData {
  const cond = randomShape(r);
  const values = builtIn[cond.attribute];
  if (!values || cond.op === "prefix") return cond;
  if (cond.op === "in") return { ...cond, value: [r.pick(values), r.pick(values)] };
  return { attribute: cond.attribute, op: "eq", value: r.pick(values) };
}

function randomShape(r: ReturnType<typeof prng>): ConditionData {
  const attribute = r.pick([
    "appVersion",
    "locale",
    "tier",
    "environment",
    "pushAuthorization",
    "nested",
    "absent",
  ]);
  switch (r.int(5)) {
    case 0:
      return {
        attribute,
        op: "eq",
        value: r.pick([...locales, ...tiers, "production", "authorized", "1.10"]),
      };
    case 1:
      return {
        attribute,
        op: "in",
        value: [r.pick(tiers), r.pick(locales), r.pick(["development", "denied"])],
      };
    case 2:
      return { attribute, op: "prefix", value: r.pick(["en", "en-", "fr", "1.", "prod", "e"]) };
    case 3:
      return {
        attribute,
        op: "semverGte",
        value: r.pick(["1.10", "2", "2.0.0", "1.9.10", "2.0.0-rc"]),
      };
    default:
      return { attribute, op: "semverLt", value: r.pick(["1.10", "2", "2.0.1", "10", "1.2.3"]) };
  }
}

function randomRule(r: ReturnType<typeof prng>): RuleData | null {
  if (r.next() < 0.1) return null;
  const rule: RuleData = {};
  if (r.next() < 0.7) rule.all = Array.from({ length: 1 + r.int(3) }, () => randomCondition(r));
  if (r.next() < 0.5) rule.any = Array.from({ length: 1 + r.int(3) }, () => randomCondition(r));
  if (r.next() < 0.3) rule.lastSeenWithinDays = r.pick([1, 30, 365]);
  return Rule.parse(rule);
}

const handPicked: [RuleData | null, RuleSubject, boolean][] = [
  [null, {}, true],
  [{ all: [{ attribute: "appVersion", op: "semverGte", value: "1.10" }] }, {
    attributes: { appVersion: "1.9.9" },
  }, false],
  [{ all: [{ attribute: "appVersion", op: "semverGte", value: "1.10" }] }, {
    attributes: { appVersion: "1.10.0" },
  }, true],
  [{ all: [{ attribute: "appVersion", op: "semverLt", value: "2" }] }, {
    attributes: { appVersion: "2.0.0-beta" },
  }, false],
  [{ all: [{ attribute: "appVersion", op: "semverLt", value: "2" }] }, { attributes: {} }, false],
  [{ all: [{ attribute: "tier", op: "eq", value: 1 }] }, { attributes: { tier: "1" } }, false],
  [
    {
      any: [{ attribute: "locale", op: "prefix", value: "fr" }, {
        attribute: "environment",
        op: "eq",
        value: "development",
      }],
    },
    { environment: "development", attributes: {} },
    true,
  ],
  [
    { all: [{ attribute: "pushAuthorization", op: "eq", value: "authorized" }] },
    { attributes: {} },
    true,
  ],
  [{ lastSeenWithinDays: 30 }, { lastSeenAt: String(NOW - 31 * DAY) }, false],
  [{ lastSeenWithinDays: 30 }, { lastSeenAt: String(NOW - 30 * DAY) }, true],
];

Deno.test("parseSemver ignores suffixes and rejects non-versions", () => {
  assertEquals(parseSemver("2.0.0-beta.1"), [2, 0, 0]);
  assertEquals(parseSemver("1.2+build.5"), [1, 2]);
  assertEquals(parseSemver("v2"), null);
  assertEquals(parseSemver("1..2"), null);
  assertEquals(parseSemver(""), null);
  assertEquals(parseSemver(2), null);
  assertEquals(compareSemver([2, 1], [2, 1, 0]), 0);
  assertEquals(compareSemver([1, 10], [1, 9, 9]), 1);
});

Deno.test("matchesRule gives the documented answers", () => {
  for (const [rule, subject, expected] of handPicked) {
    assertEquals(matchesRule(rule, subject, NOW), expected, JSON.stringify({ rule, subject }));
  }
});

Deno.test("Rule rejects unknown fields, bad ops and unbounded input", () => {
  assertEquals(
    Rule.safeParse({ all: [{ attribute: "a", op: "eq", value: 1, x: 1 }] }).success,
    false,
  );
  assertEquals(Rule.safeParse({ all: [{ attribute: "a", op: "gt", value: 1 }] }).success, false);
  assertEquals(
    Rule.safeParse({ all: [{ attribute: "a", op: "semverGte", value: "v2" }] }).success,
    false,
  );
  assertEquals(Rule.safeParse({ any: [] }).success, false);
  assertEquals(Rule.safeParse({ lastSeenWithinDays: 0 }).success, false);
  assertEquals(Rule.safeParse({ other: 1 }).success, false);
  const many = Array.from({ length: 21 }, () => ({ attribute: "a", op: "eq", value: 1 }));
  assertEquals(Rule.safeParse({ all: many }).success, false);
});

Deno.test("Rule refuses environment and pushAuthorization values they never take", () => {
  const valid = (cond: unknown) => Rule.safeParse({ all: [cond] }).success;
  assertEquals(valid({ attribute: "environment", op: "eq", value: "staging" }), false);
  assertEquals(valid({ attribute: "environment", op: "eq", value: true }), false);
  assertEquals(valid({ attribute: "pushAuthorization", op: "in", value: ["denied", "x"] }), false);
  assertEquals(valid({ attribute: "environment", op: "semverLt", value: "2" }), false);
  assertEquals(valid({ attribute: "environment", op: "eq", value: "development" }), true);
  assertEquals(
    valid({ attribute: "pushAuthorization", op: "in", value: ["authorized", "provisional"] }),
    true,
  );
  assertEquals(valid({ attribute: "pushAuthorization", op: "prefix", value: "auth" }), true);
  // Custom attributes keep any value.
  assertEquals(valid({ attribute: "tier", op: "eq", value: "staging" }), true);
});

Deno.test("segment_reindex's Lua evaluator agrees with matchesRule on every case", async () => {
  const t = await startTestRedis();
  try {
    const r = prng(20240601);
    const cases: [RuleData | null, RuleSubject][] = handPicked.map(([rule, s]) => [rule, s]);
    for (let i = 0; i < 3000; i++) cases.push([randomRule(r), randomSubject(r)]);
    const script = t.redis.createScript<number[]>(luaEval);
    const lua = await script.exec([], [
      JSON.stringify(cases.map(([rule, s]) => [rule ? JSON.stringify(rule) : "", s])),
      String(NOW),
    ]);
    const ts = cases.map(([rule, s]) => matchesRule(rule, s, NOW) ? 1 : 0);
    let matches = 0;
    for (let i = 0; i < cases.length; i++) {
      assertEquals(Number(lua[i]), ts[i], `case ${i}: ${JSON.stringify(cases[i])}`);
      matches += ts[i];
    }
    // The generator must exercise both outcomes.
    assertEquals(matches > 200 && matches < cases.length - 200, true);
  } finally {
    await t.stop();
  }
});
