/**
 * The outcome recorder: writes recipients' outcomes to the send record as APNs' answers arrive,
 * batched and pipelined, instead of once per claimed chunk.
 *
 * Why: a recipient that was claimed but whose outcome is not yet written is of unknown fate if
 * the worker dies (a retried batch reports it `Unconfirmed`, or sends it again). Writing every
 * outcome within `intervalMs` of its answer shrinks that window to the pushes truly in flight
 * plus those answered in the last interval.
 *
 * The bound: an outcome handed to {@linkcode Recorder.add} is in a `record` call issued at most
 * `intervalMs` later (sooner when `maxBatch` outcomes of its send are waiting); the call is one
 * Redis round trip. Writes of different sends, and successive writes of one send, run
 * concurrently (the TCP requester pipelines them on its connection). Cost: one `record` call per
 * `maxBatch` outcomes at full speed, as many as before; only a trickle of answers costs more
 * calls, and then Redis has time to spare.
 *
 * ```ts
 * const recorder = createRecorder({ store });
 * const written = recorder.add(appId, sendId, [outcome]); // not awaited per answer
 * await written; // before acknowledging the batch: rejects if the write failed
 * ```
 *
 * @module
 */
import { whileUnavailable } from "../redis/retry.ts";
import type { Outcome, SendStore } from "./store.ts";

/** Options of {@linkcode createRecorder}. */
export interface RecorderOptions {
  /** Where outcomes go. */
  store: Pick<SendStore, "record">;
  /** Longest an outcome waits before its write is issued, ms. Default: {@linkcode RECORD_EVERY_MS}. */
  intervalMs?: number;
  /** Outcomes of one send per write; a send with this many waiting is written at once. Default: 250. */
  maxBatch?: number;
  /** Runs `fn` after `ms`; returns a cancel function. Default: `setTimeout`. For tests. */
  schedule?: (fn: () => void, ms: number) => () => void;
}

/** Queues outcomes and writes them in batches; see the module doc for the bound. */
export interface Recorder {
  /**
   * Queues outcomes of one send. The promise resolves once they are stored and rejects when
   * their write failed (callers await it before acknowledging the work; nothing is lost
   * silently). It is the same promise for every outcome in one write.
   */
  add(appId: string, sendId: string, outcomes: readonly Outcome[]): Promise<void>;
  /**
   * Issues the writes of everything queued now (or only of one send's outcomes, when named) and
   * waits for them. A batch's end flushes its send, so the batch need not wait for the timer.
   */
  flush(appId?: string, sendId?: string): Promise<void>;
  /** Outcomes queued or being written, not yet stored (for tests and metrics). */
  readonly pending: number;
}

/** The default recording interval, ms: the most an outcome waits before it is written. */
export const RECORD_EVERY_MS = 25;

interface Buffer {
  appId: string;
  sendId: string;
  outcomes: Outcome[];
  written: Promise<void>;
  settle: (error?: unknown) => void;
}

/** Creates a recorder; one per worker process is enough (it serves every send). */
export function createRecorder(options: RecorderOptions): Recorder {
  const intervalMs = options.intervalMs ?? RECORD_EVERY_MS;
  const maxBatch = options.maxBatch ?? 250;
  const schedule = options.schedule ?? ((fn: () => void, ms: number) => {
    const id = setTimeout(fn, ms);
    return () => clearTimeout(id);
  });
  const buffers = new Map<string, Buffer>();
  let pending = 0;
  let cancelTimer: (() => void) | null = null;

  function open(appId: string, sendId: string): Buffer {
    let settle!: (error?: unknown) => void;
    const written = new Promise<void>((resolve, reject) => {
      settle = (error) => error === undefined ? resolve() : reject(error);
    });
    // Marked handled here: the rejection reaches whoever awaits it, never the process.
    written.catch(() => {});
    return { appId, sendId, outcomes: [], written, settle };
  }

  function write(key: string, buffer: Buffer): Promise<void> {
    buffers.delete(key);
    // APNs has answered: a short Redis outage (a cluster failover) must not lose the write and
    // leave these recipients of unknown fate, so it waits the outage out (recording is
    // idempotent per recipient).
    whileUnavailable(() => options.store.record(buffer.appId, buffer.sendId, buffer.outcomes))
      // Pending until Redis answered: a write issued is not yet a write made (its command may
      // still sit in the client's buffer when the process dies).
      .finally(() => pending -= buffer.outcomes.length)
      .then(
        () => buffer.settle(),
        (error) => buffer.settle(error instanceof Error ? error : new Error(String(error))),
      );
    return buffer.written;
  }

  function writeAll(): Promise<void>[] {
    cancelTimer?.();
    cancelTimer = null;
    return [...buffers].map(([key, buffer]) => write(key, buffer));
  }

  return {
    add(appId, sendId, outcomes) {
      if (outcomes.length === 0) return Promise.resolve();
      const key = `${appId}/${sendId}`;
      let buffer = buffers.get(key);
      if (!buffer) buffers.set(key, buffer = open(appId, sendId));
      const written = buffer.written;
      buffer.outcomes.push(...outcomes);
      pending += outcomes.length;
      if (buffer.outcomes.length >= maxBatch) {
        write(key, buffer);
        if (buffers.size === 0) {
          cancelTimer?.();
          cancelTimer = null;
        }
      } else {
        cancelTimer ??= schedule(() => {
          cancelTimer = null;
          writeAll();
        }, intervalMs);
      }
      return written;
    },
    async flush(appId, sendId) {
      if (appId === undefined || sendId === undefined) return void await Promise.all(writeAll());
      const key = `${appId}/${sendId}`;
      const buffer = buffers.get(key);
      if (!buffer) return;
      await write(key, buffer);
    },
    get pending() {
      return pending;
    },
  };
}
