/**
 * Command deadlines for the TCP requester, on the one deadline sweep (lib/deadline_sweep.ts).
 *
 * @module
 */
import { DeadlineSweep } from "../deadline_sweep.ts";

/**
 * Command deadlines without a timer per command: pending commands are swept every
 * `timeoutMs / 10` (at most 100 ms), so a command fails with "Command timed out" between
 * `timeoutMs` and about 10% later. The sweep runs only while commands are pending and never
 * keeps the process alive.
 */
export interface Deadlines {
  /** `promise`, or a rejection once `timeoutMs` has passed without it settling. */
  guard<T>(promise: Promise<T>): Promise<T>;
  stop(): void;
}

/** Deadlines of `timeoutMs` for the commands one requester guards. */
export function createDeadlines(timeoutMs: number): Deadlines {
  const every = Math.max(1, Math.min(100, Math.floor(timeoutMs / 10)));
  const sweep = new DeadlineSweep(every, () => performance.now(), { unref: true });
  return {
    guard<T>(promise: Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const entry = {
          deadline: performance.now() + timeoutMs,
          expire: () => reject(new Error("Command timed out")),
        };
        sweep.watch(entry);
        promise.then((value) => {
          sweep.unwatch(entry);
          resolve(value);
        }, (error) => {
          sweep.unwatch(entry);
          reject(error);
        });
      });
    },
    stop: () => sweep.stop(),
  };
}
