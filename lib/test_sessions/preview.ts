/**
 * The preview sender: renders a preview and pushes it through the one dispatch path to test
 * installations now, each in its own environment (development builds included). APNs' answers
 * feed the registry exactly as a send's do; no send record or funnel is written, since a
 * preview is not a campaign.
 *
 * @module
 */
import type { Apps } from "../apps/mod.ts";
import type { Recipient } from "../apns/mod.ts";
import { type Dispatcher, renderMessage, skipReason, toRecipient } from "../dispatch/mod.ts";
import type { Registry } from "../registry/mod.ts";
import type { PreviewSender } from "./test_sessions.ts";
import type { PreviewResultData } from "./schemas.ts";

/** What {@linkcode createPreviewSender} needs. */
export interface PreviewSenderOptions {
  apps: Pick<Apps, "get">;
  registry: Pick<Registry, "getSendable">;
  dispatcher: Pick<Dispatcher, "dispatch">;
}

/**
 * Builds a {@linkcode PreviewSender}. Installations that cannot be sent to (gone, inactive,
 * without a token, denied) are `skipped` with the dispatch skip reason; the others get APNs'
 * answer. A credential error is recorded on the app by the dispatcher, as for a send.
 * @throws {ValidationFailed} when the preview does not render (payload too large, bad headers).
 */
export function createPreviewSender(options: PreviewSenderOptions): PreviewSender {
  const { apps, registry, dispatcher } = options;
  return async function sendPreview(appId, installationIds, input) {
    const record = await apps.get(appId);
    const message = renderMessage(record.bundleId, input);
    const installations = await registry.getSendable(appId, installationIds);
    const results = new Map<string, PreviewResultData>();
    const recipients: Recipient[] = [];
    installations.forEach((inst, i) => {
      const skipped = skipReason(inst, null);
      if (skipped || !inst) {
        const installationId = installationIds[i];
        results.set(installationId, { installationId, status: "skipped", reason: skipped! });
      } else {
        recipients.push(toRecipient(inst));
      }
    });
    const sent = await dispatcher.dispatch({ appId, message, recipients });
    for (const o of sent.outcomes) {
      results.set(o.installationId, {
        installationId: o.installationId,
        status: o.outcome,
        ...(o.apnsId ? { apnsId: o.apnsId } : {}),
        ...(o.reason ? { reason: o.reason } : {}),
      });
    }
    return installationIds.map((id) => results.get(id)!);
  };
}
