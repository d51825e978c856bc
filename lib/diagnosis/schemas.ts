/**
 * The diagnosis' shapes: `GET /v1/apps/:appId/installations/:id/diagnosis` and the console's
 * "Diagnose" page answer the same `{installationId, ok, checks}`.
 *
 * @module
 */
import { z } from "zod";
import { SegmentId } from "../segments/schemas.ts";

/** The checks, in the order a support engineer runs them. */
export const CHECKS = [
  "credential_for_environment",
  "credential_valid",
  "token_active",
  "notifications_allowed",
  "recently_seen",
  "segment_membership",
  "recent_sends",
] as const;

/** One check's name. */
export type CheckName = typeof CHECKS[number];

/** One check: passed or not, and a sentence saying what it found and what to do. */
export const DiagnosisCheck = z.object({
  check: z.enum(CHECKS),
  ok: z.boolean(),
  message: z.string(),
});

/** `GET …/installations/:id/diagnosis` answer. */
export const Diagnosis = z.object({
  installationId: z.string(),
  /** True when every check passed. */
  ok: z.boolean(),
  checks: z.array(DiagnosisCheck),
});

/** `GET …/installations/:id/diagnosis` query: an optional segment to check membership of. */
export const DiagnosisQuery = z.strictObject({ segmentId: SegmentId.optional() });

/** One check. */
export type DiagnosisCheckData = z.infer<typeof DiagnosisCheck>;
/** A diagnosis. */
export type DiagnosisData = z.infer<typeof Diagnosis>;
