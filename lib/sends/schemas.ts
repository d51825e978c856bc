/**
 * Request and response schemas of the sends API (`/v1/apps/:appId/sends`).
 *
 * @module
 */
import { z } from "zod";
import { MessageFields, requireContent } from "../dispatch/schemas.ts";
import { AppId } from "../apps/schemas.ts";
import { Environment, InstallationId, SendId, UserId } from "../registry/schemas.ts";
import { SegmentId } from "../segments/schemas.ts";
import { IsoDateTime } from "../iso_time.ts";

/** Most explicit recipients (user ids or installation ids) in one send request. */
export const MAX_EXPLICIT_RECIPIENTS = 10_000;
/** Most recipients of a `wait:true` send, before and after expanding user ids. */
export const MAX_WAIT_RECIPIENTS = 100;

/** Who receives a send: a segment, users, installations or every reachable installation. */
export const Audience = z.union([
  z.strictObject({ segment: SegmentId }),
  z.strictObject({ userIds: z.array(UserId).min(1).max(MAX_EXPLICIT_RECIPIENTS) }),
  z.strictObject({
    installationIds: z.array(InstallationId).min(1).max(MAX_EXPLICIT_RECIPIENTS),
  }),
  z.strictObject({ all: z.literal(true) }),
], { error: audienceError });

const AUDIENCE_KEYS = ["segment", "userIds", "installationIds", "all"];

/**
 * An audience naming one known shape gets that shape's own complaint (too many ids, a bad
 * segment id); anything else is told which shapes exist.
 */
function audienceError(issue: z.core.$ZodRawIssue): string {
  const input = issue.input;
  if (
    issue.code === "invalid_union" && typeof input === "object" && input !== null &&
    !Array.isArray(input)
  ) {
    const keys = Object.keys(input);
    const branch = keys.length === 1 ? AUDIENCE_KEYS.indexOf(keys[0]) : -1;
    const issues = branch >= 0 ? issue.errors[branch] : undefined;
    if (issues?.length) {
      return issues.map((i) => `${i.path.join(".") || keys[0]}: ${i.message}`).join("; ");
    }
  }
  return "expected exactly one of {segment}, {userIds: […]}, {installationIds: […]} or {all: true}";
}

/** An audience. */
export type AudienceData = z.infer<typeof Audience>;

/** `POST /v1/apps/:appId/sends` body. */
export const CreateSendBody = z.strictObject({
  audience: Audience,
  ...MessageFields,
  environment: Environment.optional(),
  scheduleAt: IsoDateTime.optional(),
  ratePerSecond: z.number().int().min(1).max(100_000).optional(),
  wait: z.boolean().optional(),
}).superRefine((body, ctx) => {
  requireContent(body, ctx);
  if (body.wait && body.scheduleAt) {
    ctx.addIssue({
      code: "custom",
      path: ["wait"],
      message: "wait:true cannot be combined with scheduleAt",
    });
  }
  if (body.wait && body.ratePerSecond) {
    ctx.addIssue({
      code: "custom",
      path: ["wait"],
      message: "wait:true cannot be combined with ratePerSecond",
    });
  }
  const explicit = "userIds" in body.audience
    ? body.audience.userIds
    : "installationIds" in body.audience
    ? body.audience.installationIds
    : [];
  if (body.wait && explicit.length > MAX_WAIT_RECIPIENTS) {
    ctx.addIssue({
      code: "too_big",
      origin: "array",
      maximum: MAX_WAIT_RECIPIENTS,
      path: ["audience"],
      message: `wait:true allows at most ${MAX_WAIT_RECIPIENTS} recipients`,
    });
  }
});

/** A validated send request. */
export type CreateSendInput = z.infer<typeof CreateSendBody>;

/** A send id. */
export { SendId };

/** The `Idempotency-Key` header of `POST …/sends`: 1–255 characters, kept (hashed) for 24 h. */
export const IdempotencyKey = z.string().min(1).max(255);

/** `:appId` + `:sendId` path parameters. */
export const SendParam = z.object({ appId: AppId, sendId: SendId });

/** `GET …/sends` query. */
export const ListSendsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Statuses of a send. */
export const SendStatus = z.enum([
  "scheduled",
  "queued",
  "resolving",
  "sending",
  "completed",
  "cancelled",
  "failed",
]);

/** A send's status. */
export type SendStatusValue = z.infer<typeof SendStatus>;

/** The funnel of a send. */
export const SendCounts = z.object({
  targeted: z.number().int(),
  attempted: z.number().int(),
  accepted: z.number().int(),
  failed: z.number().int(),
  invalidated: z.number().int(),
  skipped: z.number().int(),
  delivered: z.number().int(),
  opened: z.number().int(),
});

/** `GET …/sends/:sendId`. */
export const SendView = z.object({
  sendId: SendId,
  status: SendStatus,
  counts: SendCounts,
  failures: z.record(z.string(), z.number().int()),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  scheduleAt: z.string().nullable(),
  /** Why a `failed` send stopped (a credential error, for example); null otherwise. */
  error: z.object({ reason: z.string(), message: z.string() }).nullable(),
  /**
   * Warnings about the credential the app's sends use now (`certificate_expires_soon`,
   * `certificate_expired`); empty when all is well.
   */
  warnings: z.array(z.object({ code: z.string(), message: z.string() })),
});

/** A send as the API shows it. */
export type SendViewData = z.infer<typeof SendView>;

/** `POST …/sends` → 202. */
export const SendAccepted = z.object({ sendId: SendId, status: SendStatus });

/** One recipient's answer in a `wait:true` send. */
export const RecipientResult = z.object({
  installationId: z.string(),
  status: z.enum(["accepted", "failed", "skipped"]),
  apnsId: z.string().optional(),
  reason: z.string().optional(),
});

/** A recipient result. */
export type RecipientResultData = z.infer<typeof RecipientResult>;

/** `POST …/sends` with `wait:true` → 200. */
export const SendWaitResult = z.object({ sendId: SendId, results: z.array(RecipientResult) });

/** `GET …/sends`. */
export const SendList = z.object({ sends: z.array(SendView) });
