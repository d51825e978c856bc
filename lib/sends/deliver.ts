/**
 * Delivery of one batch of a send: claim the recipients chunk by chunk (checking for
 * cancellation and taking rate tokens before each chunk), skip the unreachable, dispatch the
 * rest through the one push path, and record every outcome once, as APNs answers.
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
import type { Registry, SendableInstallation } from "../registry/mod.ts";
import type { RecipientResultData } from "./schemas.ts";
import { createRecorder, type Recorder } from "./recorder.ts";
import type { Outcome, SendState, SendStore } from "./store.ts";

/** What delivery needs. */
export interface DeliverDeps {
  store: SendStore;
  /** The one push path (credential, rounds, feedback, credential errors). */
  dispatcher: Dispatcher;
  /** Where claimed recipients' installations are read. */
  registry: Pick<Registry, "getSendable">;
  /** Recipients per dispatch (and per cancel/rate check). Default: 250. */
  chunkSize?: number;
  /** Waits while the send's rate has no tokens left. Default: {@linkcode systemClock}. */
  clock?: Clock;
  /**
   * What a retried batch does with recipients it claimed before it crashed, whose outcome was
   * never recorded (APNs may or may not have them). Outcomes are recorded as APNs answers
   * (recorder.ts), so these are only the pushes in flight at the crash plus those answered in
   * the last recording interval:
   * - `"skip"` (default): record them as failed with reason `Unconfirmed` without sending
   *   again. Nobody gets the send twice; the ones that had not reached APNs are lost, and an SDK
   *   receipt later moves any that did arrive to accepted.
   * - `"resend"`: send them again. Nobody is lost; those that had reached APNs go out twice.
   * Exactly-once across a crash is not possible: APNs has no idempotency key.
   */
  uncertain?: "resend" | "skip";
  /**
   * Writes outcomes as APNs answers (see recorder.ts). Default: a recorder over `store` with its
   * default interval.
   */
  recorder?: Recorder;
}

/** What delivering a batch did. */
export interface DeliverReport {
  /**
   * Per-recipient results: the chunk's skips first, then its dispatched recipients (for
   * `wait:true`). Empty when {@linkcode DeliverHooks.results} is false.
   */
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
  /**
   * Build the per-recipient results. Default: true. A queued batch does not read them: its
   * outcomes are in the send record.
   */
  results?: boolean;
}

/** What a deliverer holds right now (for crash tests and metrics). */
export interface DeliverStats {
  /** Recipients whose claim is on its way to Redis and back; they are dispatched right after. */
  readonly claiming: number;
  /** Recipients dispatched whose outcome is not yet known (sent and not yet answered). */
  readonly inFlight: number;
  /** Outcomes known so far. */
  readonly answered: number;
}

/** The batch deliverer. */
export interface Deliverer {
  /** What it holds right now. */
  readonly stats: DeliverStats;
  /**
   * Delivers `ids` (batch `seq`) of `send`. Each outcome goes to the recorder as APNs answers;
   * the batch returns once they are all written. Returns per-recipient results and whether the
   * send stopped. Throws only on infrastructure errors (Redis); the batch is then retried.
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
  const recorder = deps.recorder ?? createRecorder({ store: deps.store });
  const stats = { claiming: 0, inFlight: 0, answered: 0 };

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

  /** Sorts a claimed chunk (installations read before the claim) into skips and recipients. */
  function sortClaimed(
    send: SendState,
    chunkIds: readonly string[],
    installations: ReadonlyArray<SendableInstallation | null>,
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
    stats,
    async deliver(send, seq, ids, hooks = {}) {
      const report: DeliverReport = { results: [] };
      const uncertain = hooks.uncertain ?? deps.uncertain ?? "skip";
      const collect = hooks.results ?? true;
      const pending = [...new Set(ids)];
      const message = { body: send.body, headers: send.headers };
      const { appId, sendId } = send;
      const writes = new Set<Promise<void>>();
      const record = (outcome: Outcome) => writes.add(recorder.add(appId, sendId, [outcome]));
      // Every return waits until the outcomes handed to the recorder are written; a failed
      // write throws, and the batch is retried.
      const written = async (stopped?: DeliverReport["stopped"]): Promise<DeliverReport> => {
        await recorder.flush(appId, sendId);
        await Promise.all(writes);
        return stopped ? { ...report, stopped } : report;
      };
      // Chunk by chunk: check for cancellation, take rate tokens, claim, dispatch. Claiming per
      // chunk keeps the recipients of unknown fate after a crash to the chunk in flight, and
      // recording each answer as it arrives keeps them to the pushes not yet answered.
      while (pending.length > 0) {
        let size = Math.min(chunkSize, pending.length);
        if (send.ratePerSecond) {
          const granted = await takeRate(send, size);
          if (granted === null) return await written(await stoppedStatus(send));
          size = granted;
        }
        const chunkIds = pending.splice(0, size);
        // The installations are read before the claim: nothing but the claim's own answer stands
        // between claiming a recipient and sending to it, so neither a Redis failure nor a crash
        // in between leaves claimed recipients that were never sent (a retry would call them
        // Unconfirmed).
        const [installations] = await Promise.all([
          deps.registry.getSendable(appId, chunkIds),
          hooks.heartbeat?.(),
        ]);
        // The claim also checks for cancellation.
        stats.claiming += chunkIds.length;
        const claim = await deps.store.claim(appId, sendId, seq, chunkIds)
          .finally(() => stats.claiming -= chunkIds.length);
        if (claim.stopped) return await written(claim.stopped);
        const sorted = sortClaimed(send, chunkIds, installations, claim.flags, uncertain);
        for (const o of sorted.early) record(o);
        if (collect) report.results.push(...sorted.early.map(toResult));
        stats.inFlight += sorted.recipients.length;
        let settled = 0;
        const heard = new Array<boolean>(sorted.recipients.length);
        const sent = await deps.dispatcher.dispatch({
          appId,
          message,
          recipients: sorted.recipients,
          heartbeat: hooks.heartbeat,
          onOutcome(outcome, i) {
            heard[i] = true;
            settled++;
            stats.inFlight--;
            stats.answered++;
            // The recipients a credential failure stopped count as attempted and failed, so
            // the funnel of a failed send still adds up.
            record(toOutcome(outcome));
          },
        }).finally(() => stats.inFlight -= sorted.recipients.length - settled);
        // A dispatcher that does not report as it goes is recorded here, at the chunk's end.
        sent.outcomes.forEach((o, i) => heard[i] || record(toOutcome(o)));
        if (collect) report.results.push(...sent.outcomes.map(toResult));
        if (sent.credentialError) {
          await written();
          await failSend(send, sent);
          return { ...report, stopped: "failed" };
        }
      }
      return await written();
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
