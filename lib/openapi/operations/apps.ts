/**
 * Admin API operations: apps, APNs credentials and server keys.
 *
 * @module
 */
import { z } from "zod";
import { AppParam, AppView, CreateAppBody, CreatedApp, UpdateAppBody } from "../../apps/schemas.ts";
import type { OperationSpec } from "../types.ts";

// routes/apps.ts answers `{serverKey}` without an exported schema.
const ServerKeyIssued = z.object({ serverKey: z.string() });
const AppList = z.object({ apps: z.array(AppView) });

/** Admin API operations: apps, APNs credentials and server keys. */
export const appOperations: OperationSpec[] = [{
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
  path: "/v1/apps",
  summary: "List every app (credential summaries, never secrets)",
  tags: ["apps"],
  auth: "admin",
  responses: { 200: { description: "the apps, by name", schema: AppList } },
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
