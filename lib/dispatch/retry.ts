/**
 * The retry rounds of a dispatch: recipients whose answer stayed transient after the
 * transport's own retries (APNs 429/5xx, no connection) are sent again in later rounds, after a
 * backoff that honours APNs' `retry-after`.
 *
 * @module
 */
import type {
  Recipient,
  Relay,
  RelayApp,
  RelayMessage,
  SendBatchOptions,
  SendResult,
} from "../apns/mod.ts";
import type { Clock } from "../clock.ts";

/** The longest a round waits on APNs' `retry-after`, ms (well under a send claim's idle). */
export const MAX_ROUND_WAIT_MS = 10_000;

/** True for a failure worth another round: throttling, server errors, no connection. */
export function isTransient(result: SendResult): boolean {
  return result.status === "failed" && result.transient === true && !result.feedback &&
    !result.credentialError;
}

/** What {@linkcode sendInRounds} needs. */
export interface RoundsOptions {
  relay: Pick<Relay, "sendBatch">;
  clock: Clock;
  /** Extra rounds after the first. */
  rounds: number;
  batch?: SendBatchOptions;
  /** Runs before and after each wait between rounds (a worker keeps its claim alive). */
  heartbeat?: () => Promise<void>;
  /**
   * Called once per recipient (its index in `recipients`) as soon as its result is final: on
   * APNs' answer, unless another round follows. Default: none.
   */
  onFinal?: (index: number, result: SendResult) => void;
}

/**
 * Sends `message` to `recipients`, then again to those whose answer was transient, up to
 * `rounds` more times; the wait doubles from 200 ms and is at least APNs' `retry-after`. A
 * recipient asked to wait longer than {@linkcode MAX_ROUND_WAIT_MS} keeps APNs' answer. After
 * a credential error no more rounds run: the ones held back fail with it too.
 * Returns one result per recipient, in input order; `onFinal` hears each one as it is known.
 */
export async function sendInRounds(
  app: RelayApp,
  message: RelayMessage,
  recipients: readonly Recipient[],
  options: RoundsOptions,
): Promise<SendResult[]> {
  const results = new Array<SendResult>(recipients.length);
  const final = (i: number, result: SendResult) => {
    results[i] = result;
    options.onFinal?.(i, result);
  };
  let pending = recipients.map((_, i) => i);
  for (let round = 0; pending.length > 0; round++) {
    const batch = pending.map((i) => recipients[i]);
    const current = pending;
    const again: number[] = [];
    let wait = 100 * 2 ** (round + 1);
    let credentialError: SendResult["credentialError"];
    // Each answer is sorted as it arrives: final (handed on at once) or held for another round.
    const sorted = new Array<boolean>(batch.length);
    const sort = (i: number, answer: SendResult) => {
      if (sorted[i]) return;
      sorted[i] = true;
      credentialError ??= answer.credentialError;
      const retryAfter = answer.retryAfterMs ?? 0;
      if (round < options.rounds && isTransient(answer) && retryAfter <= MAX_ROUND_WAIT_MS) {
        again.push(current[i]);
        wait = Math.max(wait, retryAfter);
      } else final(current[i], answer);
    };
    const answers = await options.relay.sendBatch(app, message, batch, {
      ...options.batch,
      onResult: sort,
    });
    // A relay that does not report as it goes is sorted here, at the end of the batch.
    answers.forEach((answer, i) => sort(i, answer));
    if (credentialError) {
      for (const i of again) {
        final(i, {
          installationId: recipients[i].installationId,
          status: "failed",
          reason: credentialError.reason,
          attempted: true,
          credentialError,
        });
      }
      break;
    }
    pending = again;
    if (pending.length > 0) {
      // Rounds and waits can outlast a claim's idle time: tell the caller's queue this is alive.
      await options.heartbeat?.();
      await options.clock.sleep(wait);
      await options.heartbeat?.();
    }
  }
  return results;
}
