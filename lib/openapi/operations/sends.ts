/**
 * Send relay operations.
 *
 * @module
 */
import { z } from "zod";
import { AppParam } from "../../apps/schemas.ts";
import {
  CreateSendBody,
  IdempotencyKey,
  ListSendsQuery,
  SendAccepted,
  SendList,
  SendParam,
  SendView,
  SendWaitResult,
} from "../../sends/schemas.ts";
import type { OperationSpec } from "../types.ts";

/** Send relay operations. */
export const sendOperations: OperationSpec[] = [{
  method: "post",
  path: "/v1/apps/:appId/sends",
  summary: "Send a notification to an audience",
  description: "202 with the send id; with `wait:true` (≤ 100 recipients) 200 with APNs' answer " +
    "per recipient. An `Idempotency-Key` header makes retries return the first answer.",
  tags: ["sends"],
  auth: "server",
  params: AppParam,
  headers: z.object({
    "Idempotency-Key": IdempotencyKey.optional().describe(
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
  errors: [403, 409],
}];
