/**
 * What a push says, as the API takes it: the message fields a send and a preview share, and the
 * rule that something must be shown. Declared once; both bodies and the OpenAPI document use it.
 *
 * @module
 */
import { z } from "zod";
import { COLLAPSE_ID_LIMIT, PrioritySchema, PushTypeSchema } from "../apns/headers.ts";
import { ApsSchema, NotificationSchema } from "../apns/payload.ts";
import { IsoDateTime } from "../iso_time.ts";

/** The message fields of `POST …/sends` and of a test-session preview. */
export const MessageFields = {
  notification: NotificationSchema.optional(),
  aps: ApsSchema.optional(),
  pushType: PushTypeSchema.optional(),
  priority: PrioritySchema.optional(),
  expiresAt: IsoDateTime.optional(),
  collapseId: z.string().min(1).max(COLLAPSE_ID_LIMIT).optional(),
};

/** The message fields alone. */
export const Message = z.strictObject(MessageFields);

/** A message as the API gives it (what `renderMessage` renders). */
export type MessageInput = z.infer<typeof Message>;

/**
 * The rule every message body keeps (zod `superRefine`): a notification or a raw `aps` is
 * required, except for a background push, which carries data only.
 */
export function requireContent(
  body: Pick<MessageInput, "notification" | "aps" | "pushType">,
  ctx: z.RefinementCtx,
): void {
  if (body.notification || body.aps || (body.pushType ?? "alert") === "background") return;
  ctx.addIssue({
    code: "custom",
    path: ["notification"],
    message: "a notification or an aps dictionary is required (except for background pushes)",
  });
}
