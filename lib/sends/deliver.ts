/**
 * Delivery of one batch of a send: claim the recipients chunk by chunk (checking for
 * cancellation and taking rate tokens before each chunk), skip the unreachable, dispatch the
 * rest through the one push path, and record every outcome once.
 *
 * @module
 */
import type { Recipient } from "../apns/mod.ts";
import { type Clock, systemClock } from "../clock.ts";
import {
  type Dispatcher,
  type DispatchOutcome,
  type DispatchReport,
  skipReason,
  toRecipient,
} from "../dispatch/mod.ts";
import type { Installation, Registry } from "../registry/mod.ts";
import type { RecipientResultData } from "./schemas.ts";
import type { Outcome, SendState, SendStore } from "./store.ts";
import { whileUnavailable } from "../redis/retry.ts";

/** What delivery needs. */
export interface DeliverDeps {
  store: SendStore;
  /** The one push path (credential, rounds, feedback, credential errors). */
  dispatcher: Dispatcher;
  /** Where claimed recipients' installations are read. */
  registry: Pick<Registry, "getMany">;
  /** Recipients per dispatch (and per cancel/rate check). Default: 250. */
  chunkSize?: number;
  /** Waits while the send's rate has no tokens left. Default: {@linkcode systemClock}. */
  clock?: Clock;
  /**
   * What a retried batch does with recipients it claimed before it crashed, whose outcome was
   * never recorded (APNs may or may not have them):
   * - `"skip"` (default): record them as failed with reason `Unconfirmed` without sending
   *   again. Nobody gets the send twice. Claims are per chunk, so these are only the chunks the
   *   dead worker had in flight; the pushes among them it had not yet written are lost (in the
   *   crash tests, 0–250 of 500 unconfirmed), and the funnel shows them as `Unconfirmed`.
   * - `"resend"`: send them again. Nobody is lost; the in-flight pushes that had reached APNs
   *   go out twice (0–500 in the crash tests).
   * Exactly-once across a crash is not possible: APNs has no idempotency key.
   */
  uncertain?: "resend" | "skip";
}

/** What delivering a batch did. */
export interface DeliverReport {
  /** Per-recipient results: the chunk's skips first, then its dispatched recipients (for `wait:true`). */
  results: RecipientResultData[];
  /** Set when the send stopped: cancelled, failed (credential) or gone. */
  stopped?: "cancelled" | "failed" | "gone";
}

/** Hooks of one {@linkcode Deliverer.deliver} call. */
export interface DeliverHooks {
  /** Runs before each chunk and around retry waits (the worker keeps its queue claim). */
  heartbeat?: () => Promise<void>;
  /** Overrides {@linkcode DeliverDeps.uncertain} for this batch. */
  uncertain?: "resend" | "skip";
}

/** The batch deliverer. */
export interface Deliverer {
  /**
   * Delivers `ids` (batch `seq`) of `send`. Returns per-recipient results and whether the send
   * stopped. Throws only on infrastructure errors (Redis); the batch is then retried.
   */
  deliver(
    send: SendState,
    seq: number,
    ids: readonly string[],
    hooks?: DeliverHooks,
  ): Promise<DeliverReport>;
}

/** A claimed chunk, split into what is recorded without sending and what is dispatched. */
interface SortedChunk {
  early: Outcome[];
  recipients: Recipient[];
}

/** Creates the batch deliverer. */
export function createDeliverer(deps: DeliverDeps): Deliverer {
  const chunkSize = deps.chunkSize ?? 250;
  const clock = deps.clock ?? systemClock;

  /** Takes up to `wanted` tokens of the send's rate; waits while none are left. */
  async function takeRate(send: SendState, wanted: number): Promise<number | null> {
    const rate = send.ratePerSecond!;
    const capacity = Math.max(1, Math.ceil(rate / 5));
    while (true) {
      const { granted, waitMs } = await deps.store.takeTokens(
        send.appId,
        send.sendId,
        rate,
        capacity,
        Math.min(wanted, capacity),
      );
      if (granted > 0) return granted;
      await clock.sleep(Math.min(Math.max(waitMs, 1), 200));
      if (await stoppedStatus(send)) return null;
    }
  }

  async function stoppedStatus(send: SendState): Promise<DeliverReport["stopped"]> {
    const status = await deps.store.status(send.appId, send.sendId);
    if (status === null) return "gone";
    if (status === "cancelled" || status === "failed") return status;
    return undefined;
  }

  /** Reads the claimed installations and sorts them into skips and recipients. */
  function sortClaimed(
    send: SendState,
    chunkIds: readonly string[],
    installations: ReadonlyArray<Installation | null>,
    flags: ReadonlyArray<"new" | "retry" | "other">,
    uncertain: "resend" | "skip",
  ): SortedChunk {
    const early: Outcome[] = [];
    const recipients: Recipient[] = [];
    chunkIds.forEach((installationId, i) => {
      const flag = flags[i];
      if (flag === "other") return;
      const inst = installations[i];
      if (flag === "retry" && uncertain === "skip") {
        early.push(failed(installationId, "Unconfirmed", true));
        return;
      }
      const reason = skipReason(inst, send.environment);
      if (reason) {
        early.push({
          installationId,
          outcome: "skipped",
          attempted: false,
          invalidated: false,
          reason,
        });
      } else recipients.push(toRecipient(inst!));
    });
    return { early, recipients };
  }

  /** Fails the send with APNs' refusal of its credential (the app already has it recorded). */
  async function failSend(send: SendState, report: DispatchReport): Promise<void> {
    await deps.store.transition(
      send.appId,
      send.sendId,
      "failed",
      ["queued", "resolving", "sending"],
      report.credentialError!,
    );
  }

  return {
    async deliver(send, seq, ids, hooks = {}) {
      const report: DeliverReport = { results: [] };
      const uncertain = hooks.uncertain ?? deps.uncertain ?? "skip";
      const pending = [...new Set(ids)];
      const message = { body: send.body, headers: send.headers };
      // Chunk by chunk: check for cancellation, take rate tokens, claim, send, record. Claiming
      // per chunk keeps the recipients of unknown fate after a crash to the chunk in flight.
      while (pending.length > 0) {
        let size = Math.min(chunkSize, pending.length);
        if (send.ratePerSecond) {
          const granted = await takeRate(send, size);
          if (granted === null) return { ...report, stopped: await stoppedStatus(send) };
          size = granted;
        }
        const chunkIds = pending.splice(0, size);
        // The installations are read before the claim: a Redis failure in between must not
        // leave claimed recipients that were never sent (a retry would call them Unconfirmed).
        const [installations] = await Promise.all([
          deps.registry.getMany(send.appId, chunkIds),
          hooks.heartbeat?.(),
        ]);
        // The claim also checks for cancellation.
        const claim = await deps.store.claim(send.appId, send.sendId, seq, chunkIds);
        if (claim.stopped) return { ...report, stopped: claim.stopped };
        const { early, recipients } = sortClaimed(
          send,
          chunkIds,
          installations,
          claim.flags,
          uncertain,
        );
        report.results.push(...early.map(toResult));
        const sent = await deps.dispatcher.dispatch({
          appId: send.appId,
          message,
          recipients,
          heartbeat: hooks.heartbeat,
        });
        // Skips and APNs outcomes of the chunk in one atomic step. The recipients a credential
        // failure stopped had their APNs request: they count as attempted and failed, so the
        // funnel of a failed send still adds up.
        // APNs has answered: the record must not be lost to a short Redis outage (a cluster
        // failover), or the chunk's recipients would be left of unknown fate.
        await whileUnavailable(() =>
          deps.store.record(send.appId, send.sendId, [
            ...early,
            ...sent.outcomes.map(toOutcome),
          ])
        );
        report.results.push(...sent.outcomes.map(toResult));
        if (sent.credentialError) {
          await failSend(send, sent);
          return { ...report, stopped: "failed" };
        }
      }
      return report;
    },
  };
}

function failed(installationId: string, reason: string, attempted: boolean): Outcome {
  return { installationId, outcome: "failed", attempted, invalidated: false, reason };
}

function toOutcome(o: DispatchOutcome): Outcome {
  return {
    installationId: o.installationId,
    outcome: o.outcome,
    attempted: o.attempted,
    invalidated: o.invalidated,
    ...(o.reason ? { reason: o.reason } : {}),
  };
}

function toResult(o: Outcome | DispatchOutcome): RecipientResultData {
  return {
    installationId: o.installationId,
    status: o.outcome,
    ...("apnsId" in o && o.apnsId ? { apnsId: o.apnsId } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
  };
}
