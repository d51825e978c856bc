/**
 * The operations of edgepush's HTTP API, each pointing at the zod schemas that validate it.
 * A test walks the composed app's routes and fails when one is missing here.
 *
 * The lists live per area in operations/. Where an area does not export a schema (route-local
 * param objects, small answers such as `{serverKey}`), the list builds the equivalent from the
 * area's exported pieces and marks it.
 *
 * @module
 */
import type { OperationSpec } from "./types.ts";
import { appOperations } from "./operations/apps.ts";
import { installationOperations, sdkOperations } from "./operations/registry.ts";
import { jobOperations, segmentOperations } from "./operations/segments.ts";
import { sendOperations } from "./operations/sends.ts";
import { testSessionOperations } from "./operations/test_sessions.ts";
import { opsOperations } from "./operations/ops.ts";

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
