/**
 * The one push path. Every push — a campaign's batches, a `wait:true` send, a test-session
 * preview, the uninstall probe, the push CLI — goes through {@linkcode Dispatcher.dispatch},
 * which takes the app's credential (see credential.ts), sends through the relay in retry
 * rounds, feeds APNs' answers back into the registry and reports a refused credential.
 *
 * ```ts
 * const dispatcher = createDispatcher({ relay, credentials: appCredentialSource(apps), registry });
 * const message = renderMessage(app.bundleId, { notification: { title: "Hi" } });
 * const { outcomes, credentialError } = await dispatcher.dispatch({ appId, message, recipients });
 * ```
 *
 * @module
 */
import type { CredentialProblem, Recipient, Relay, SendResult } from "../apns/mod.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { CredentialSource } from "./credential.ts";
import { applyFeedback, type FeedbackRegistry } from "./feedback.ts";
import { whileUnavailable } from "../redis/retry.ts";
import type { RenderedMessage } from "./render.ts";
import { sendInRounds } from "./retry.ts";

/** What {@linkcode createDispatcher} needs. */
export interface DispatcherDeps {
  relay: Pick<Relay, "sendBatch">;
  /** Where an app's credential comes from, and where a refusal is reported. */
  credentials: CredentialSource;
  /** Receives APNs' feedback (uninstalls, bad tokens, environments). Default: none. */
  registry?: FeedbackRegistry;
  /** Extra rounds for recipients whose answer stayed transient (429/5xx). Default: 3. */
  transientRounds?: number;
  /** Waits between rounds. Default: {@linkcode systemClock}. */
  clock?: Clock;
}

/**
 * - `deliver` (default): retry rounds, the other host tried on `BadDeviceToken`, feedback into
 *   the registry, a refused credential recorded on the app.
 * - `check` (the push CLI): one answer per recipient for exactly the environment asked, no
 *   rounds and no feedback.
 */
export type DispatchMode = "deliver" | "check";

/** One dispatch: a rendered message to recipients of one app. */
export interface DispatchRequest {
  appId: string;
  /** From {@linkcode renderMessage} or {@linkcode probeMessage} (or a stored send's). */
  message: RenderedMessage;
  /** Recipients that passed `skipReason`. */
  recipients: readonly Recipient[];
  /** Default: `deliver`. */
  mode?: DispatchMode;
  /** Runs around each wait between rounds (a send worker keeps its queue claim alive). */
  heartbeat?: () => Promise<void>;
  /**
   * Hears each recipient's outcome (and its index in `recipients`) as soon as it is final,
   * feedback applied, before the dispatch ends: a send records outcomes as APNs answers.
   * Default: none.
   */
  onOutcome?: (outcome: DispatchOutcome, index: number) => void;
}

/** The outcome for one recipient. */
export interface DispatchOutcome {
  installationId: string;
  outcome: "accepted" | "failed";
  /** Whether a request went to APNs. */
  attempted: boolean;
  /** The installation was marked unregistered or bad-token by APNs' answer. */
  invalidated: boolean;
  /** APNs' reason (or ours: `Timeout`, `ConnectionFailed`…); absent when accepted. */
  reason?: string;
  apnsId?: string;
  /** APNs' HTTP status and 410 timestamp, when it answered. */
  apns?: { status: number; timestamp?: number };
  /** Failed because APNs refused the app's credential. */
  credentialRefused: boolean;
}

/** What a dispatch did. */
export interface DispatchReport {
  /** One per recipient, in input order. */
  outcomes: DispatchOutcome[];
  /** Set when APNs refused the app's credential (already reported to the credential source). */
  credentialError: CredentialProblem | null;
}

/** The dispatcher. */
export interface Dispatcher {
  /**
   * Sends a message to recipients and answers per recipient. Never throws for APNs' answers.
   * @throws {AppNotFound} when the app is gone; Redis errors from feedback.
   */
  dispatch(request: DispatchRequest): Promise<DispatchReport>;
}

/** Creates the dispatcher (one per process; it holds the credential cache). */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const clock = deps.clock ?? systemClock;
  const transientRounds = deps.transientRounds ?? 3;
  return {
    async dispatch(request) {
      if (request.recipients.length === 0) return { outcomes: [], credentialError: null };
      const check = request.mode === "check";
      // A campaign's recipients are already claimed here: a short Redis outage (a cluster
      // failover) while reading the credential must be waited out, not leave them unsent.
      const app = await whileUnavailable(() => deps.credentials.load(request.appId));
      const registry = check ? undefined : deps.registry;
      const outcomes = new Array<DispatchOutcome>(request.recipients.length);
      const settle = (i: number, result: SendResult, invalidated: boolean) => {
        outcomes[i] = toOutcome(result, invalidated);
        request.onOutcome?.(outcomes[i], i);
      };
      const feedback: Promise<void>[] = [];
      const results = await sendInRounds(app, request.message, request.recipients, {
        relay: deps.relay,
        clock,
        rounds: check ? 0 : transientRounds,
        batch: { environmentFallback: !check },
        heartbeat: request.heartbeat,
        onFinal(i, result) {
          if (!registry || !result.feedback) return settle(i, result, false);
          // APNs has answered: a short Redis outage (a cluster failover) must not lose its
          // feedback and leave the recipient of unknown fate, so the feedback waits it out.
          const applied = whileUnavailable(() =>
            applyFeedback(registry, request.appId, request.recipients[i], result)
          ).then((invalidated) => settle(i, result, invalidated));
          applied.catch(() => {}); // awaited below: a registry failure fails the dispatch
          feedback.push(applied);
        },
      });
      await Promise.all(feedback);
      const credentialError = results.find((r) => r.credentialError)?.credentialError ?? null;
      if (credentialError) await deps.credentials.refused(request.appId, credentialError);
      return { outcomes, credentialError };
    },
  };
}

function toOutcome(result: SendResult, invalidated: boolean): DispatchOutcome {
  const accepted = result.status === "accepted";
  const outcome: DispatchOutcome = {
    installationId: result.installationId,
    outcome: accepted ? "accepted" : "failed",
    attempted: result.attempted,
    // invalidated ⊆ failed: an accepted push never counts as an invalidation.
    invalidated: !accepted && invalidated,
    credentialRefused: !!result.credentialError,
  };
  if (!accepted) outcome.reason = result.reason ?? "Unknown";
  if (result.apnsId) outcome.apnsId = result.apnsId;
  if (result.apns) outcome.apns = result.apns;
  return outcome;
}
