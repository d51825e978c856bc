/**
 * The preview sender: renders a preview and pushes it through the relay to test installations
 * now, each in its own environment (development builds included). APNs' answers feed the
 * registry exactly as a send's do, through lib/sends' skip rules and feedback; no send record
 * or funnel is written, since a preview is not a campaign.
 *
 * @module
 */
import type { Apps } from "../apps/mod.ts";
import { buildHeaders } from "../apns/headers.ts";
import { buildPayload } from "../apns/payload.ts";
import type { Recipient, Relay, RelayApp } from "../apns/relay.ts";
import type { Registry } from "../registry/mod.ts";
import { skipReason, toRecipient } from "../sends/deliver.ts";
import { applyFeedbackAll, type FeedbackRegistry } from "../sends/feedback.ts";
import type { PreviewSender } from "./test_sessions.ts";
import type { PreviewResultData } from "./schemas.ts";

/** What {@linkcode createPreviewSender} needs. */
export interface PreviewSenderOptions {
  apps: Pick<Apps, "get" | "credentials" | "recordCredentialError">;
  registry: Pick<Registry, "getMany"> & FeedbackRegistry;
  relay: Pick<Relay, "sendBatch">;
}

/**
 * Builds a {@linkcode PreviewSender}. Installations that cannot be sent to (gone, inactive,
 * without a token, denied) are `skipped` with lib/sends' reason; the others get APNs' answer.
 * A credential error is recorded on the app, as a send would.
 * @throws {ValidationFailed} when the preview does not render (payload too large, bad headers).
 */
export function createPreviewSender(options: PreviewSenderOptions): PreviewSender {
  const { apps, registry, relay } = options;
  return async function sendPreview(appId, installationIds, input) {
    const record = await apps.get(appId);
    const pushType = input.pushType ?? "alert";
    const message = {
      body: buildPayload({ notification: input.notification, aps: input.aps, pushType }).body,
      headers: buildHeaders({
        bundleId: record.bundleId,
        pushType,
        priority: input.priority,
        expiresAt: input.expiresAt ? Date.parse(input.expiresAt) : undefined,
        collapseId: input.collapseId,
      }),
    };
    const installations = await registry.getMany(appId, installationIds);
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
    if (recipients.length > 0) {
      const credentials = await apps.credentials(record);
      // Every app has a token credential; it is preferred over an optional certificate.
      const app: RelayApp = {
        bundleId: record.bundleId,
        credential: { kind: "token", ...credentials.token },
      };
      const sent = await relay.sendBatch(app, message, recipients);
      const outcomes = await applyFeedbackAll(registry, appId, recipients, sent);
      outcomes.forEach((outcome, i) => {
        const apnsId = sent[i].apnsId;
        results.set(outcome.installationId, {
          installationId: outcome.installationId,
          status: outcome.outcome,
          ...(apnsId ? { apnsId } : {}),
          ...(outcome.reason ? { reason: outcome.reason } : {}),
        });
      });
      const credentialError = sent.find((result) => result.credentialError)?.credentialError;
      if (credentialError) await apps.recordCredentialError(appId, credentialError);
    }
    return installationIds.map((id) => results.get(id)!);
  };
}
