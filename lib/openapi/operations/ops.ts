/**
 * Liveness, readiness, metrics and the API reference itself.
 *
 * @module
 */
import { z } from "zod";
import type { OperationSpec } from "../types.ts";

/** Liveness, readiness, metrics and the API reference itself. */
export const opsOperations: OperationSpec[] = [{
  method: "get",
  path: "/",
  summary: "Where to go: the console, this reference and the ops endpoints, by path",
  tags: ["ops"],
  auth: "none",
  responses: {
    200: {
      description: "the entry points",
      schema: z.object({
        service: z.literal("edgepush"),
        console: z.string(),
        docs: z.string(),
        openapi: z.string(),
        health: z.string(),
        ready: z.string(),
        metrics: z.string(),
      }),
    },
  },
}, {
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
