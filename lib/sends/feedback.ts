/**
 * Turns the relay's per-recipient results into registry changes and send outcomes:
 * 410 Unregistered → `markUnregistered` (applied only when APNs' timestamp is later than the
 * registration; then the recipient counts as invalidated), BadDeviceToken after the environment
 * fallback or DeviceTokenNotForTopic → `markBadToken` (also invalidated), a success on the other
 * host → `correctEnvironment`.
 *
 * @module
 */
import type { Recipient, SendResult } from "../apns/relay.ts";
import type { Registry } from "../registry/mod.ts";
import type { Outcome } from "./store.ts";

/** The registry calls feedback needs. */
export type FeedbackRegistry = Pick<
  Registry,
  "markUnregistered" | "markBadToken" | "correctEnvironment"
>;

/**
 * Applies the registry feedback of one result and returns the recipient's outcome.
 * Credential failures are not passed here: they fail the send instead.
 */
export async function applyFeedback(
  registry: FeedbackRegistry,
  appId: string,
  recipient: Recipient,
  result: SendResult,
): Promise<Outcome> {
  const feedback = result.feedback;
  let invalidated = false;
  if (feedback?.kind === "unregistered") {
    invalidated = await registry.markUnregistered(
      appId,
      recipient.installationId,
      recipient.token,
      feedback.timestamp,
    );
  } else if (feedback?.kind === "bad_token") {
    invalidated = Boolean(
      await registry.markBadToken(
        appId,
        recipient.installationId,
        recipient.token,
        result.reason ?? "BadDeviceToken",
      ),
    );
  } else if (feedback?.kind === "environment") {
    await registry.correctEnvironment(
      appId,
      recipient.installationId,
      recipient.token,
      feedback.environment,
    );
  }
  const accepted = result.status === "accepted";
  return {
    installationId: recipient.installationId,
    outcome: accepted ? "accepted" : "failed",
    attempted: result.attempted,
    // invalidated ⊆ failed: an accepted push never counts as an invalidation.
    invalidated: !accepted && invalidated,
    reason: accepted ? undefined : result.reason ?? "Unknown",
  };
}

/** Applies feedback for a chunk of results, with bounded concurrency, in input order. */
export async function applyFeedbackAll(
  registry: FeedbackRegistry,
  appId: string,
  recipients: readonly Recipient[],
  results: readonly SendResult[],
): Promise<Outcome[]> {
  const outcomes = new Array<Outcome>(results.length);
  const pending: Promise<void>[] = [];
  results.forEach((result, i) => {
    if (!result.feedback) {
      outcomes[i] = {
        installationId: recipients[i].installationId,
        outcome: result.status === "accepted" ? "accepted" : "failed",
        attempted: result.attempted,
        invalidated: false,
        reason: result.status === "accepted" ? undefined : result.reason ?? "Unknown",
      };
      return;
    }
    pending.push(
      applyFeedback(registry, appId, recipients[i], result).then((o) => void (outcomes[i] = o)),
    );
  });
  await Promise.all(pending);
  return outcomes;
}
