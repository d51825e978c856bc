/**
 * The only rendering of pushes: the API's message fields (notification or raw `aps`, push
 * type, priority, expiry, collapse id) become the APNs payload and `apns-*` headers, checked
 * against APNs' limits before anything is sent.
 *
 * @module
 */
import type { MessageInput } from "./schemas.ts";
import { buildHeaders, buildPayload, type RelayMessage } from "../apns/mod.ts";

/** A message ready for the relay: payload JSON and `apns-*` headers. */
export type RenderedMessage = RelayMessage;

/**
 * Renders a message for an app's bundle id. `extra` goes at the payload's top level (a send
 * puts its `sendId` there for the SDK's delivered/opened events).
 * @throws {ValidationFailed} for a payload over its limit or headers APNs would refuse.
 */
export function renderMessage(
  bundleId: string,
  input: MessageInput,
  extra?: Record<string, string>,
): RenderedMessage {
  const pushType = input.pushType ?? "alert";
  const headers = buildHeaders({
    bundleId,
    pushType,
    priority: input.priority,
    expiresAt: input.expiresAt ? Date.parse(input.expiresAt) : undefined,
    collapseId: input.collapseId,
  });
  const payload = buildPayload({
    notification: input.notification,
    aps: input.aps,
    pushType,
    ...(extra ? { extra } : {}),
  });
  return { body: payload.body, headers };
}

/**
 * The uninstall probe's push: silent (`content-available`, background, priority 5), so the
 * user sees nothing and APNs answers 410 for an app that is gone.
 */
export function probeMessage(bundleId: string): RenderedMessage {
  return renderMessage(bundleId, { pushType: "background", aps: { "content-available": 1 } });
}
