/**
 * The clock that time-dependent code takes, so tests can drive time instead of waiting for it.
 *
 * ```ts
 * const clock = options.clock ?? systemClock;
 * await clock.sleep(250);
 * ```
 *
 * @module
 */

/** Wall-clock time and waiting. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** The real clock: `Date.now` and a timer. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};
