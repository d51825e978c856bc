/**
 * SDK registration operations and server-side reads of installations and users.
 *
 * @module
 */
import { Diagnosis, DiagnosisQuery } from "../../diagnosis/schemas.ts";
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
} from "../../registry/schemas.ts";
import type { OperationSpec } from "../types.ts";

/** What the SDKs call with the public app key. */
export const sdkOperations: OperationSpec[] = [{
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
  description: "`attributes` are merged into the stored map; a `null` value removes a key.",
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
  description: "An event counts only when its send targeted the installation and APNs accepted " +
    "the push (or its answer is pending); others are counted as `rejected` and write nothing.",
  tags: ["sdk"],
  auth: "sdk",
  body: EventsBody,
  responses: { 202: { description: "accepted", schema: EventsResponse } },
  errors: [429],
}];

/** Server-side reads and erasure of installations and users. */
export const installationOperations: OperationSpec[] = [{
  method: "get",
  path: "/v1/apps/:appId/installations/:id/diagnosis",
  summary: "Why didn't it arrive? The checklist on one installation",
  description: "Checks, in order: the app has a credential for the installation's environment; " +
    "APNs has not refused it; the token is active (or why not, and since when); notifications " +
    "are allowed; the app was seen recently; with `segmentId`, the installation is in that " +
    "segment (or why not); and what the app's last 20 sends did with it. Each check has a " +
    "sentence saying what to do. `ok` is true when every check passed.",
  tags: ["installations"],
  auth: "server",
  params: ServerInstallationParam,
  query: DiagnosisQuery,
  responses: { 200: { description: "the diagnosis", schema: Diagnosis } },
  errors: [403],
}, {
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
