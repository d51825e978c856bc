/**
 * Segment operations, and the jobs an operator can run or tune per app.
 *
 * @module
 */
import { AppParam } from "../../apps/schemas.ts";
import {
  MembersBody,
  MembersQuery,
  MembersResult,
  PutSegmentBody,
  SegmentList,
  SegmentParam,
  SegmentView,
  STREAMED_MEMBER_TYPES,
  SyncAccepted,
  SyncQuery,
} from "../../segments/schemas.ts";
import { ProbeSettingsBody, ProbeStatus } from "../../probe/schemas.ts";
import type { OperationSpec } from "../types.ts";

/** Segment definitions, counts and member uploads. */
export const segmentOperations: OperationSpec[] = [{
  method: "get",
  path: "/v1/apps/:appId/segments",
  summary: "List segments",
  tags: ["segments"],
  auth: "server",
  params: AppParam,
  responses: { 200: { description: "the segments", schema: SegmentList } },
  errors: [403],
}, {
  method: "put",
  path: "/v1/apps/:appId/segments/:segmentId",
  summary: "Define a segment",
  tags: ["segments"],
  auth: "server",
  params: SegmentParam,
  body: PutSegmentBody,
  responses: {
    201: { description: "created", schema: SegmentView },
    200: { description: "updated", schema: SegmentView },
  },
  errors: [403],
}, {
  method: "get",
  path: "/v1/apps/:appId/segments/:segmentId",
  summary: "A segment with its counts",
  tags: ["segments"],
  auth: "server",
  params: SegmentParam,
  responses: { 200: { description: "the segment", schema: SegmentView } },
  errors: [403],
}, {
  method: "delete",
  path: "/v1/apps/:appId/segments/:segmentId",
  summary: "Delete a segment",
  tags: ["segments"],
  auth: "server",
  params: SegmentParam,
  responses: { 204: { description: "deleted" } },
  errors: [403],
}, {
  method: "post",
  path: "/v1/apps/:appId/segments/:segmentId/members",
  summary: "Add or remove members, or stream a full export",
  description: "JSON `{add?, remove?}` (≤ 10,000 ids per call), or a streamed upload of one user " +
    'id per line (text/plain, or NDJSON lines that are a JSON string or `{"userId": …}`). ' +
    "`?mode=replace` (streamed only) replaces the members; of two replace uploads of one " +
    "segment that overlap, the later to start wins and the other gets 409. Streamed uploads " +
    "are exempt from the 1 MiB body limit.",
  tags: ["segments"],
  auth: "server",
  params: SegmentParam,
  query: MembersQuery,
  body: {
    content: {
      "application/json": MembersBody,
      ...Object.fromEntries(Object.keys(STREAMED_MEMBER_TYPES).map((type) => [type, null])),
    },
  },
  responses: { 200: { description: "the member counts", schema: MembersResult } },
  errors: [403, 409],
}];

/** Jobs an operator can run now or tune per app. */
export const jobOperations: OperationSpec[] = [{
  method: "post",
  path: "/v1/apps/:appId/jobs/segment-sync",
  summary: "Run the segment sync for this app now",
  description: "While another run holds the app's sync lock, answers `queued`: that run passes " +
    "once more when it ends, so the request still covers every change made before it.",
  tags: ["jobs"],
  auth: "server",
  params: AppParam,
  query: SyncQuery,
  responses: { 202: { description: "started or queued", schema: SyncAccepted } },
  errors: [403],
}, {
  method: "get",
  path: "/v1/apps/:appId/jobs/token-probe",
  summary: "Uninstall-probe settings",
  tags: ["jobs"],
  auth: "server",
  params: AppParam,
  responses: {
    200: {
      description: "the settings and the last run's report (null before the first run)",
      schema: ProbeStatus,
    },
  },
  errors: [403],
}, {
  method: "put",
  path: "/v1/apps/:appId/jobs/token-probe",
  summary: "Change the uninstall-probe settings",
  tags: ["jobs"],
  auth: "server",
  params: AppParam,
  body: ProbeSettingsBody,
  responses: { 200: { description: "the settings", schema: ProbeSettingsBody } },
  errors: [403],
}];
