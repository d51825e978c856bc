/**
 * The pure segment-rule evaluator. scripts/_segment_reindex.lua implements the same semantics
 * in Lua; tests/lib/segments/rules_test.ts runs both on the same cases.
 *
 * Semantics: an installation matches when every `all` condition holds, at least one `any`
 * condition holds (when `any` is given) and, with `lastSeenWithinDays`, `lastSeenAt ≥ now −
 * days`. A condition on a missing attribute is false. `eq`/`in` compare type and value (the
 * string "3" is not the number 3). `prefix` needs a string. `semverGte`/`semverLt` need a
 * string of numeric dot parts; a `-pre`/`+build` suffix is ignored (2.0.0-beta counts as
 * 2.0.0) and missing parts are 0 (2.1 = 2.1.0); anything else does not match.
 *
 * @module
 */
import type { ConditionData, RuleData } from "./schemas.ts";

const DAY_MS = 86_400_000;

/** What a rule can see of an installation. */
export interface RuleSubject {
  environment?: string;
  /** Defaults to `authorized` when absent. */
  pushAuthorization?: string;
  attributes?: Record<string, unknown>;
  /** Epoch ms, as stored (a digit string) or a number. */
  lastSeenAt?: string | number;
}

/** Parses a version into numeric parts, or null when it is not one. */
export function parseSemver(value: unknown): number[] | null {
  if (typeof value !== "string") return null;
  const core = value.split(/[-+]/)[0];
  if (core === "") return null;
  const parts = core.split(".");
  if (!parts.every((p) => /^\d+$/.test(p))) return null;
  return parts.map(Number);
}

/** Compares two parsed versions: -1, 0 or 1. */
export function compareSemver(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0, y = b[i] ?? 0;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

function attribute(subject: RuleSubject, name: string): string | number | boolean | null {
  if (name === "environment") return subject.environment || null;
  if (name === "pushAuthorization") return subject.pushAuthorization || "authorized";
  const attrs = subject.attributes;
  if (!attrs || !Object.hasOwn(attrs, name)) return null;
  const v = attrs[name];
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : null;
}

/** Evaluates one condition. */
export function matchesCondition(cond: ConditionData, subject: RuleSubject): boolean {
  const v = attribute(subject, cond.attribute);
  if (v === null) return false;
  switch (cond.op) {
    case "eq":
      return v === cond.value;
    case "in":
      return cond.value.some((w) => w === v);
    case "prefix":
      return typeof v === "string" && v.startsWith(cond.value);
    case "semverGte":
    case "semverLt": {
      const have = parseSemver(v), want = parseSemver(cond.value);
      if (!have || !want) return false;
      const cmp = compareSemver(have, want);
      return cond.op === "semverGte" ? cmp >= 0 : cmp < 0;
    }
  }
}

function ms(value: string | number | undefined): number | null {
  if (typeof value === "number") return value;
  return typeof value === "string" && /^\d+$/.test(value) ? Number(value) : null;
}

/** True when `subject` satisfies `rule` at `nowMs`; a null rule matches everything. */
export function matchesRule(
  rule: RuleData | null | undefined,
  subject: RuleSubject,
  nowMs: number,
): boolean {
  if (!rule) return true;
  if (rule.lastSeenWithinDays !== undefined) {
    const seen = ms(subject.lastSeenAt);
    if (seen === null || seen < nowMs - rule.lastSeenWithinDays * DAY_MS) return false;
  }
  if (rule.all && !rule.all.every((c) => matchesCondition(c, subject))) return false;
  if (rule.any && rule.any.length > 0 && !rule.any.some((c) => matchesCondition(c, subject))) {
    return false;
  }
  return true;
}
