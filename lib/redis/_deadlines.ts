/**
 * Command deadlines for the TCP requester.
 *
 * @module
 */

/**
 * Command deadlines without a timer per command: pending commands sit in a set that one
 * interval sweeps every `timeoutMs / 10` (at most 100 ms), so a command fails with "Command
 * timed out" between `timeoutMs` and about 10% later. The interval runs only while commands
 * are pending and never keeps the process alive.
 */
export interface Deadlines {
  /** `promise`, or a rejection once `timeoutMs` has passed without it settling. */
  guard<T>(promise: Promise<T>): Promise<T>;
  stop(): void;
}

/** Deadlines of `timeoutMs` for the commands one requester guards. */
export function createDeadlines(timeoutMs: number): Deadlines {
  type Entry = { at: number; reject: (error: Error) => void };
  const pending = new Set<Entry>();
  const every = Math.max(1, Math.min(100, Math.floor(timeoutMs / 10)));
  let timer: ReturnType<typeof setInterval> | undefined;
  const sweep = () => {
    const now = performance.now();
    for (const entry of pending) {
      if (entry.at <= now) {
        pending.delete(entry);
        entry.reject(new Error("Command timed out"));
      }
    }
    if (pending.size === 0) stop();
  };
  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  return {
    guard<T>(promise: Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const entry: Entry = { at: performance.now() + timeoutMs, reject };
        pending.add(entry);
        if (timer === undefined) {
          const id = setInterval(sweep, every);
          Deno.unrefTimer(id);
          timer = id;
        }
        promise.then((value) => {
          pending.delete(entry);
          resolve(value);
        }, (error) => {
          pending.delete(entry);
          reject(error);
        });
      });
    },
    stop,
  };
}
