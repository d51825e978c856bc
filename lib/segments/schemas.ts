/**
 * Request and response schemas of the segments API (zod v4; OpenAPI is generated from them).
 *
 * @module
 */
import { AppId } from "../apps/schemas.ts";
import { z } from "zod";
import { Environment, PushAuthorization } from "../registry/schemas.ts";

/** A segment id: 1–64 characters of `[A-Za-z0-9_.-]`. */
export const SegmentId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "not a segment id");

/** `:appId` + `:segmentId` path parameters. */
export const SegmentParam = z.object({ appId: AppId, segmentId: SegmentId });

/** A user id: 1–128 characters, no line breaks (so it survives a streamed upload). */
export const UserId = z.string().min(1).max(128).regex(/^[^\r\n]+$/, "no line breaks allowed");

/** An attribute key, or `environment` / `pushAuthorization`. */
export const AttributeName = z.string().min(1).max(64);

const Scalar = z.union([z.string().max(256), z.number().finite(), z.boolean()]);

/** A version: numeric dot parts with an optional (ignored) `-pre`/`+build` suffix. */
export const SemverValue = z.string().max(64).regex(
  /^\d{1,9}(\.\d{1,9}){0,3}([-+].*)?$/,
  "expected a version like 2.3 or 2.3.1",
);

const ConditionShape = z.discriminatedUnion("op", [
  z.strictObject({ attribute: AttributeName, op: z.literal("eq"), value: Scalar }),
  z.strictObject({
    attribute: AttributeName,
    op: z.literal("in"),
    value: z.array(Scalar).min(1).max(100),
  }),
  z.strictObject({
    attribute: AttributeName,
    op: z.literal("prefix"),
    value: z.string().min(1).max(256),
  }),
  z.strictObject({ attribute: AttributeName, op: z.literal("semverGte"), value: SemverValue }),
  z.strictObject({ attribute: AttributeName, op: z.literal("semverLt"), value: SemverValue }),
]);

/** One condition of a rule. */
export const Condition = ConditionShape.superRefine(checkBuiltInValue);

/** The values `environment` and `pushAuthorization` can take. */
const BUILT_IN_VALUES: Record<string, readonly string[]> = {
  environment: Environment.options,
  pushAuthorization: PushAuthorization.options,
};

/**
 * A condition on `environment` or `pushAuthorization` that names a value they never take would
 * silently match nothing (or everything, negated by `any`): refuse it while it can be fixed.
 */
function checkBuiltInValue(cond: z.infer<typeof ConditionShape>, ctx: z.RefinementCtx) {
  const allowed = BUILT_IN_VALUES[cond.attribute];
  if (!allowed) return;
  if (cond.op === "semverGte" || cond.op === "semverLt") {
    ctx.addIssue({ code: "custom", path: ["op"], message: `${cond.attribute} is not a version` });
    return;
  }
  if (cond.op === "prefix") return;
  const values = Array.isArray(cond.value) ? cond.value : [cond.value];
  for (const value of values) {
    if (typeof value !== "string" || !allowed.includes(value)) {
      ctx.addIssue({
        code: "custom",
        path: ["value"],
        message: `${cond.attribute} is one of ${allowed.join(", ")}; ${JSON.stringify(value)} ` +
          "never matches",
      });
    }
  }
}

/**
 * A segment rule: `all` conditions must hold, at least one of `any` must hold, and the
 * installation must have been seen within `lastSeenWithinDays`. Every part is optional.
 */
export const Rule = z.strictObject({
  all: z.array(Condition).min(1).max(20).optional(),
  any: z.array(Condition).min(1).max(20).optional(),
  lastSeenWithinDays: z.number().int().min(1).max(3650).optional(),
});

/** `PUT /v1/apps/:appId/segments/:segmentId` body. */
export const PutSegmentBody = z.strictObject({
  name: z.string().min(1).max(200),
  rule: Rule.nullable().optional(),
});

/** `POST …/members` JSON body: at most 10,000 ids in all. */
export const MembersBody = z.strictObject({
  add: z.array(UserId).max(10_000).optional(),
  remove: z.array(UserId).max(10_000).optional(),
}).refine((b) => (b.add?.length ?? 0) + (b.remove?.length ?? 0) <= 10_000, {
  message: "at most 10000 ids per call (add + remove)",
});

/** `POST …/members` query. */
export const MembersQuery = z.strictObject({ mode: z.enum(["append", "replace"]).optional() });

/** The per-segment report of the last daily sync. */
export const SyncReport = z.object({
  users: z.number().int(),
  reachable: z.object({ production: z.number().int(), development: z.number().int() }),
  /** Installations that entered the reach sets since the previous sync. */
  added: z.number().int(),
  /** Installations that left the reach sets since the previous sync. */
  removed: z.number().int(),
  /** Of those, the changes the sync itself made (drift repaired, recency window, staleness). */
  corrected: z.number().int(),
  mode: z.enum(["full", "incremental"]),
  durationMs: z.number(),
  syncedAt: z.string(),
});

/** A segment as returned by GET. */
export const SegmentView = z.object({
  segmentId: z.string(),
  name: z.string(),
  rule: Rule.nullable(),
  users: z.number().int(),
  reachable: z.object({ production: z.number().int(), development: z.number().int() }),
  syncedAt: z.string().nullable(),
  report: SyncReport.nullable(),
});

/** `GET /v1/apps/:appId/segments`. */
export const SegmentList = z.object({ segments: z.array(SegmentView) });

/**
 * The media types a member upload may stream in (no size limit, constant memory), and how each
 * is read: one user id per line, or one JSON value per line.
 */
export const STREAMED_MEMBER_TYPES: Readonly<Record<string, "text" | "ndjson">> = {
  "text/plain": "text",
  "application/x-ndjson": "ndjson",
  "application/ndjson": "ndjson",
  "application/jsonl": "ndjson",
};

/** How a member upload with this `Content-Type` streams, or null when it does not. */
export function streamedMemberFormat(contentType: string | undefined): "text" | "ndjson" | null {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return STREAMED_MEMBER_TYPES[type] ?? null;
}

/** `POST …/members` answer. */
export const MembersResult = z.object({
  added: z.number().int(),
  removed: z.number().int(),
  members: z.number().int(),
});

/** `POST /v1/apps/:appId/jobs/segment-sync` query. */
export const SyncQuery = z.strictObject({
  mode: z.enum(["auto", "full", "incremental"]).optional(),
});

/**
 * `POST /v1/apps/:appId/jobs/segment-sync` answer (202): `started` (this request runs the pass) or
 * `queued` (the run already going passes once more when it ends).
 */
export const SyncAccepted = z.object({
  appId: z.string(),
  status: z.enum(["started", "queued"]),
  mode: z.enum(["auto", "full", "incremental"]),
});

/** A segment rule. */
export type RuleData = z.infer<typeof Rule>;
/** A rule condition. */
export type ConditionData = z.infer<typeof Condition>;
/** A segment view. */
export type SegmentViewData = z.infer<typeof SegmentView>;
/** A sync report. */
export type SyncReportData = z.infer<typeof SyncReport>;
