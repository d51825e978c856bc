/**
 * APNs' feedback into the registry: 410 Unregistered → `markUnregistered` (applied only when
 * APNs' timestamp is later than the registration), BadDeviceToken after the environment
 * fallback or DeviceTokenNotForTopic → `markBadToken`, a success on the other host →
 * `correctEnvironment`.
 *
 * @module
 */
import type { Recipient, SendResult } from "../apns/mod.ts";
import type { Registry } from "../registry/mod.ts";

/** The registry calls feedback needs. */
export type FeedbackRegistry = Pick<
  Registry,
  "markUnregistered" | "markBadToken" | "correctEnvironment"
>;

/**
 * Applies the registry feedback of one result; true when the installation was invalidated
 * (marked unregistered or bad token) by it.
 */
export async function applyFeedback(
  registry: FeedbackRegistry,
  appId: string,
  recipient: Recipient,
  result: SendResult,
): Promise<boolean> {
  const feedback = result.feedback;
  if (feedback?.kind === "unregistered") {
    return await registry.markUnregistered(
      appId,
      recipient.installationId,
      recipient.token,
      feedback.timestamp,
    );
  }
  if (feedback?.kind === "bad_token") {
    return Boolean(
      await registry.markBadToken(
        appId,
        recipient.installationId,
        recipient.token,
        result.reason ?? "BadDeviceToken",
      ),
    );
  }
  if (feedback?.kind === "environment") {
    await registry.correctEnvironment(
      appId,
      recipient.installationId,
      recipient.token,
      feedback.environment,
    );
  }
  return false;
}

/**
 * Applies the feedback of a chunk of results concurrently; answers, in input order, whether
 * each installation was invalidated.
 */
export async function applyFeedbackAll(
  registry: FeedbackRegistry,
  appId: string,
  recipients: readonly Recipient[],
  results: readonly SendResult[],
): Promise<boolean[]> {
  return await Promise.all(
    results.map((result, i) =>
      result.feedback
        ? applyFeedback(registry, appId, recipients[i], result)
        : Promise.resolve(false)
    ),
  );
}
