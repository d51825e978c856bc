/**
 * Test session operations: scan-to-bind devices and preview pushes.
 *
 * @module
 */
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
} from "../../test_sessions/schemas.ts";
import type { OperationSpec } from "../types.ts";

/** Test session operations: scan-to-bind devices and preview pushes. */
export const testSessionOperations: OperationSpec[] = [{
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
