/**
 * The operations of edgepush's HTTP API, each pointing at the zod schemas that validate it.
 * A test walks the composed app's routes and fails when one is missing here.
 *
 * Where an area does not export a schema (route-local param objects, small answers such as
 * `{serverKey}`), the equivalent is built here from the area's exported pieces and marked.
 *
 * @module
 */
import { z } from "zod";
import { AppId, AppView, CreateAppBody, CreatedApp, UpdateAppBody } from "../apps/schemas.ts";
import {
  BindUserBody,
  EventsBody,
  EventsResponse,
  InstallationParam,
  InstallationView,
  RegisterBody,
  RegisterCreatedResponse,
  RegisterRefreshedResponse,
  ServerInstallationParam,
  ServerUserParam,
  UpdateBody,
  UserInstallationsResponse,
} from "../registry/schemas.ts";
import {
  MembersBody,
  MembersQuery,
  MembersResult,
  ProbeSettingsBody,
  PutSegmentBody,
  SegmentId,
  SegmentList,
  SegmentView,
  SyncAccepted,
  SyncQuery,
} from "../segments/schemas.ts";
import {
  CreateSendBody,
  ListSendsQuery,
  SendAccepted,
  SendId,
  SendList,
  SendView,
  SendWaitResult,
} from "../sends/schemas.ts";
import {
  BindTestDeviceBody,
  BoundTestDevice,
  CreatedTestSession,
  CreateTestSessionBody,
  PreviewSendBody,
  PreviewSendResult,
  TestSessionAppParam,
  TestSessionCodeParam,
  TestSessionParam,
  TestSessionView,
} from "../test_sessions/schemas.ts";
import type { OperationSpec } from "./types.ts";

/** Tags in display order, with a line each. */
export const API_TAGS: Array<{ name: string; description: string }> = [
  { name: "apps", description: "Admin API: apps, APNs credentials and server keys." },
  { name: "sdk", description: "Called by the mobile SDKs with the public app key." },
  { name: "installations", description: "Server-side reads of installations and users." },
  { name: "segments", description: "Segments: definitions, counts and member uploads." },
  { name: "sends", description: "Send relay: campaigns to segments, users or installations." },
  { name: "jobs", description: "Run the segment sync now; uninstall-probe settings." },
  { name: "test sessions", description: "Scan-to-bind test devices and preview pushes." },
  { name: "ops", description: "Liveness, readiness, metrics and this reference." },
];

// routes/apps.ts keeps its `{appId}` param object private; this is the same schema.
const AppParam = z.object({ appId: AppId });
// routes/apps.ts answers `{serverKey}` without an exported schema.
const ServerKeyIssued = z.object({ serverKey: z.string() });

const appOperations: OperationSpec[] = [{
  method: "post",
  path: "/v1/apps",
  summary: "Create an app",
  description: "Returns the app key, the first server key and (when required) the user-signing " +
    "secret. They are shown once.",
  tags: ["apps"],
  auth: "admin",
  body: CreateAppBody,
  responses: { 201: { description: "created; secrets shown once", schema: CreatedApp } },
}, {
  method: "get",
  path: "/v1/apps/:appId",
  summary: "Read an app (credential summaries, never secrets)",
  tags: ["apps"],
  auth: "admin",
  params: AppParam,
  responses: { 200: { description: "the app", schema: AppView } },
}, {
  method: "patch",
  path: "/v1/apps/:appId",
  summary: "Change settings or rotate credentials",
  tags: ["apps"],
  auth: "admin",
  params: AppParam,
  body: UpdateAppBody,
  responses: { 200: { description: "the updated app", schema: AppView } },
}, {
  method: "delete",
  path: "/v1/apps/:appId",
  summary: "Delete an app and everything it owns",
  tags: ["apps"],
  auth: "admin",
  params: AppParam,
  responses: { 204: { description: "deleted" } },
}, {
  method: "post",
  path: "/v1/apps/:appId/server-keys",
  summary: "Issue a new server key, revoking the old one at once",
  tags: ["apps"],
  auth: "admin",
  params: AppParam,
  responses: { 201: { description: "the new key, shown once", schema: ServerKeyIssued } },
}];

const sdkOperations: OperationSpec[] = [{
  method: "post",
  path: "/v1/sdk/installations",
  summary: "Register or refresh an installation",
  description: "Without an installationId (or with one but no valid secret) a new installation " +
    'is issued (201, `reason: "restored"` in the second case). With the id and its secret in ' +
    "`Authorization: Bearer` it is refreshed (200).",
  tags: ["sdk"],
  auth: "sdk",
  body: RegisterBody,
  responses: {
    201: {
      description: "a new installation; the secret is shown once",
      schema: RegisterCreatedResponse,
    },
    200: { description: "the installation was refreshed", schema: RegisterRefreshedResponse },
  },
  errors: [429],
}, {
  method: "patch",
  path: "/v1/sdk/installations/:id",
  summary: "Change token, environment, permission or attributes",
  tags: ["sdk"],
  auth: "sdkSecret",
  params: InstallationParam,
  body: UpdateBody,
  responses: { 200: { description: "the installation", schema: InstallationView } },
  errors: [429],
}, {
  method: "delete",
  path: "/v1/sdk/installations/:id",
  summary: "Give up push (status `deleted`)",
  tags: ["sdk"],
  auth: "sdkSecret",
  params: InstallationParam,
  responses: { 200: { description: "the installation", schema: InstallationView } },
  errors: [429],
}, {
  method: "put",
  path: "/v1/sdk/installations/:id/user",
  summary: "Bind the logged-in user",
  tags: ["sdk"],
  auth: "sdkSecret",
  params: InstallationParam,
  body: BindUserBody,
  responses: { 200: { description: "the installation", schema: InstallationView } },
  errors: [429],
}, {
  method: "delete",
  path: "/v1/sdk/installations/:id/user",
  summary: "Unbind the user (logout); the installation stays reachable as anonymous",
  tags: ["sdk"],
  auth: "sdkSecret",
  params: InstallationParam,
  responses: { 200: { description: "the installation", schema: InstallationView } },
  errors: [429],
}, {
  method: "post",
  path: "/v1/sdk/events",
  summary: "Report delivered/opened events (deduplicated per send, installation and type)",
  tags: ["sdk"],
  auth: "sdk",
  body: EventsBody,
  responses: { 202: { description: "accepted", schema: EventsResponse } },
  errors: [429],
}];

const installationOperations: OperationSpec[] = [{
  method: "get",
  path: "/v1/apps/:appId/installations/:id",
  summary: "One installation",
  tags: ["installations"],
  auth: "server",
  params: ServerInstallationParam,
  responses: { 200: { description: "the installation", schema: InstallationView } },
  errors: [403],
}, {
  method: "get",
  path: "/v1/apps/:appId/users/:userId",
  summary: "A user's installations",
  tags: ["installations"],
  auth: "server",
  params: ServerUserParam,
  responses: { 200: { description: "the user", schema: UserInstallationsResponse } },
  errors: [403],
}, {
  method: "delete",
  path: "/v1/apps/:appId/users/:userId",
  summary: "Erase a user and their installations",
  description: "Every installation bound to the user is deleted and leaves every segment; the " +
    "user id also leaves every segment's uploaded members. 404 when neither exists.",
  tags: ["installations"],
  auth: "server",
  params: ServerUserParam,
  responses: { 204: { description: "erased" } },
  errors: [403],
}];

// routes/segments.ts keeps its param objects private; these are the same schemas.
const SegmentParam = z.object({ appId: AppId, segmentId: SegmentId });

const segmentOperations: OperationSpec[] = [{
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
      "text/plain": null,
      "application/x-ndjson": null,
    },
  },
  responses: { 200: { description: "the member counts", schema: MembersResult } },
  errors: [403, 409],
}];

// routes/sends.ts keeps its param objects private; this is the same schema.
const SendParam = z.object({ appId: AppId, sendId: SendId });

const sendOperations: OperationSpec[] = [{
  method: "post",
  path: "/v1/apps/:appId/sends",
  summary: "Send a notification to an audience",
  description: "202 with the send id; with `wait:true` (≤ 100 recipients) 200 with APNs' answer " +
    "per recipient. An `Idempotency-Key` header makes retries return the first answer.",
  tags: ["sends"],
  auth: "server",
  params: AppParam,
  headers: z.object({
    "Idempotency-Key": z.string().max(128).optional().describe(
      "retries with the same key return the first answer",
    ),
  }),
  body: CreateSendBody,
  responses: {
    202: { description: "queued (or scheduled)", schema: SendAccepted },
    200: { description: "`wait:true`: one result per recipient", schema: SendWaitResult },
  },
  errors: [403, 409],
}, {
  method: "get",
  path: "/v1/apps/:appId/sends",
  summary: "List sends, newest first",
  tags: ["sends"],
  auth: "server",
  params: AppParam,
  query: ListSendsQuery,
  responses: { 200: { description: "the sends", schema: SendList } },
  errors: [403],
}, {
  method: "get",
  path: "/v1/apps/:appId/sends/:sendId",
  summary: "A send's status and funnel",
  tags: ["sends"],
  auth: "server",
  params: SendParam,
  responses: { 200: { description: "the send", schema: SendView } },
  errors: [403],
}, {
  method: "post",
  path: "/v1/apps/:appId/sends/:sendId/cancel",
  summary: "Cancel a send; nothing more goes out",
  tags: ["sends"],
  auth: "server",
  params: SendParam,
  responses: { 200: { description: "the send", schema: SendView } },
  errors: [403],
}];

const jobOperations: OperationSpec[] = [{
  method: "post",
  path: "/v1/apps/:appId/jobs/segment-sync",
  summary: "Run the segment sync for this app now",
  description: "409 while another run holds the app's sync lock.",
  tags: ["jobs"],
  auth: "server",
  params: AppParam,
  query: SyncQuery,
  responses: { 202: { description: "started", schema: SyncAccepted } },
  errors: [403, 409],
}, {
  method: "get",
  path: "/v1/apps/:appId/jobs/token-probe",
  summary: "Uninstall-probe settings",
  tags: ["jobs"],
  auth: "server",
  params: AppParam,
  responses: { 200: { description: "the settings", schema: ProbeSettingsBody } },
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

const testSessionOperations: OperationSpec[] = [{
  method: "post",
  path: "/v1/apps/:appId/test-sessions",
  summary: "Create a test session (code, deep link, QR code)",
  description: "The code lives 10 minutes. The deep link is " +
    "`<urlScheme>://edgepush/test-session?code=<code>`; an app without a urlScheme gets 409.",
  tags: ["test sessions"],
  auth: "server",
  params: TestSessionAppParam,
  body: CreateTestSessionBody,
  responses: { 201: { description: "the session", schema: CreatedTestSession } },
  errors: [403, 409],
}, {
  method: "get",
  path: "/v1/apps/:appId/test-sessions/:code",
  summary: "The devices bound to a test session so far",
  tags: ["test sessions"],
  auth: "server",
  params: TestSessionParam,
  responses: { 200: { description: "the session", schema: TestSessionView } },
  errors: [403, 410],
}, {
  method: "post",
  path: "/v1/apps/:appId/test-sessions/:code/sends",
  summary: "Push a preview to the bound devices now",
  description: "Each device is addressed in its own environment, so development builds work. " +
    "The answer has the `wait:true` result shape.",
  tags: ["test sessions"],
  auth: "server",
  params: TestSessionParam,
  body: PreviewSendBody,
  responses: { 200: { description: "APNs' answer per device", schema: PreviewSendResult } },
  errors: [403, 410],
}, {
  method: "post",
  path: "/v1/sdk/test-sessions/:code/devices",
  summary: "Bind this installation to a scanned test session",
  tags: ["test sessions", "sdk"],
  auth: "sdkSecret",
  params: TestSessionCodeParam,
  body: BindTestDeviceBody,
  responses: { 200: { description: "bound", schema: BoundTestDevice } },
  errors: [409, 410],
}];

const opsOperations: OperationSpec[] = [{
  method: "get",
  path: "/healthz",
  summary: "Liveness",
  tags: ["ops"],
  auth: "none",
  responses: { 200: { description: "alive", schema: z.object({ status: z.literal("ok") }) } },
}, {
  method: "get",
  path: "/readyz",
  summary: "Readiness: Redis answers",
  tags: ["ops"],
  auth: "none",
  responses: { 200: { description: "ready", schema: z.object({ status: z.literal("ready") }) } },
  errors: [503],
}, {
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics",
  tags: ["ops"],
  auth: "none",
  responses: {
    200: { description: "Prometheus text format", schema: z.string(), contentType: "text/plain" },
  },
}, {
  method: "get",
  path: "/openapi.json",
  summary: "This API as OpenAPI 3.1",
  tags: ["ops"],
  auth: "none",
  responses: {
    200: { description: "the OpenAPI document", schema: z.record(z.string(), z.unknown()) },
  },
}, {
  method: "get",
  path: "/docs",
  summary: "A browsable reference (HTML, no external assets)",
  tags: ["ops"],
  auth: "none",
  responses: { 200: { description: "HTML page", schema: z.string(), contentType: "text/html" } },
}];

/** Every operation of the API. */
export function apiOperations(): OperationSpec[] {
  return [
    ...appOperations,
    ...sdkOperations,
    ...installationOperations,
    ...segmentOperations,
    ...sendOperations,
    ...jobOperations,
    ...testSessionOperations,
    ...opsOperations,
  ];
}
