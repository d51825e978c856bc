/**
 * Retrying a Redis step through a short outage (a cluster failover, a restart): for writes whose
 * loss would cost more than the wait, such as recording what APNs already accepted.
 *
 * @module
 */
import { Unavailable } from "../errors.ts";

/** Options of {@linkcode whileUnavailable}. */
export interface RetryOptions {
  /** Longest total wait before the last {@linkcode Unavailable} is thrown, ms. Default: 15,000. */
  budgetMs?: number;
  /** First pause, doubled after each failure up to 1 s, ms. Default: 100. */
  firstPauseMs?: number;
}

/**
 * Runs `step`, again after a pause each time it fails with {@linkcode Unavailable}, until it
 * succeeds or the budget is spent. `step` must be safe to repeat (a Redis write whose reply was
 * lost may have been applied). Other errors are thrown at once.
 * @throws {Unavailable} when Redis stays unreachable for the whole budget.
 */
export async function whileUnavailable<T>(
  step: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.budgetMs ?? 15_000);
  let pause = options.firstPauseMs ?? 100;
  while (true) {
    try {
      return await step();
    } catch (error) {
      if (!(error instanceof Unavailable) || Date.now() + pause > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 1_000);
    }
  }
}
