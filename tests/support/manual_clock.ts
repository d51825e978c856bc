/**
 * A clock tests drive: `sleep` advances it at once and records the wait, so time-based code
 * runs without real waits and the waits it asked for can be asserted.
 *
 * @module
 */
import type { Clock } from "../../lib/clock.ts";

/** A {@linkcode Clock} whose time moves only by sleeps and `advance`. */
export interface ManualClock extends Clock {
  /** Every `sleep` asked for, ms, in order. */
  readonly sleeps: number[];
  /** Moves the time forward. */
  advance(ms: number): void;
}

/** Creates a manual clock at `start` (epoch ms). */
export function manualClock(start = 1_750_000_000_000): ManualClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    advance(ms) {
      now += ms;
    },
    sleep(ms) {
      sleeps.push(ms);
      now += Math.max(0, ms);
      return Promise.resolve();
    },
  };
}
