/**
 * The send worker: reads work items from the shared stream through the consumer group,
 * reclaims items whose worker stalled or died (`XAUTOCLAIM`), runs resolution steps and batch
 * deliveries, and promotes scheduled sends when they fall due. Any number of workers, in any
 * number of processes, share the queue.
 *
 * @module
 */
import { EdgepushError, Unavailable } from "../errors.ts";
import { whileUnavailable } from "../redis/retry.ts";
import type { Logger } from "../observability/logger.ts";
import { randomId } from "../auth/secrets.ts";
import type { createDeliverer } from "./deliver.ts";
import type { QueueEntry } from "./queue.ts";
import { type ResolverDeps, resolveStep } from "./resolver.ts";
import type { SendStore } from "./store.ts";
import { sweepIntents } from "./sweeper.ts";

/** What a worker needs (see `createSends`, which builds it). */
export interface WorkerDeps extends ResolverDeps {
  store: SendStore;
  deliverer: ReturnType<typeof createDeliverer>;
  logger: Logger;
  now?: () => number;
}

/** Options of {@linkcode createWorker}. */
export interface WorkerOptions {
  /** Consumer name in the group. Default: a random, process-unique name. */
  consumer?: string;
  /** Items this worker handles at once. Default: 4. */
  concurrency?: number;
  /** An item idle this long (ms) is taken over from its worker. Default: 30,000. */
  claimIdleMs?: number;
  /**
   * Longest pause between polls when the queue is empty, ms. While every loop of a worker is
   * idle only one of them polls (the others wait for it to find work), so an idle worker makes
   * at most 1,000 / maxIdleMs reads a second. Default: 100.
   */
  maxIdleMs?: number;
  /** How often scheduled sends are checked, ms. Default: 1,000. */
  scheduleEveryMs?: number;
  /** How often stale intents are swept (see sweeper.ts), ms. Default: 30,000. */
  sweepEveryMs?: number;
  /** How old an intent must be before the sweeper settles it, ms. Default: 60,000. */
  sweepGraceMs?: number;
  /**
   * Recipients of a reclaimed batch whose fate is unknown: `skip` (default; nobody twice) or
   * `resend` (nobody lost, in-flight pushes may repeat). See `DeliverDeps.uncertain`.
   */
  uncertain?: "resend" | "skip";
}

/** A worker: `run` until a signal, or `drain` for a bounded time. */
export interface Worker {
  /** The consumer name. */
  readonly consumer: string;
  /** Runs until `signal` aborts; resolves once in-flight items are finished. */
  run(signal: AbortSignal): Promise<void>;
  /**
   * Works until `ms` have passed or nothing is left to do; returns the items handled. For the
   * per-minute `Deno.cron` tick on Deploy.
   */
  drain(ms: number): Promise<number>;
  /** Handles at most one item (or promotes due sends); true when there was work. For tests. */
  step(): Promise<boolean>;
}

/** Creates a worker over the shared queue. */
export function createWorker(deps: WorkerDeps, options: WorkerOptions = {}): Worker {
  const { queue, store, logger } = deps;
  const now = deps.now ?? Date.now;
  const consumer = options.consumer ?? `w-${randomId(6)}`;
  const concurrency = options.concurrency ?? 4;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  const maxIdleMs = options.maxIdleMs ?? 100;
  const scheduleEveryMs = options.scheduleEveryMs ?? 1_000;
  const sweepEveryMs = options.sweepEveryMs ?? 30_000;
  let lastSchedule = 0;
  let lastSweep = 0;
  let lastReclaim = 0;
  // Idle loops: one polls, the rest wait until it (or a resolution step) finds work.
  const idle = { poller: false, waiters: new Set<() => void>() };

  /** Ends every idle loop's pause: there may be work to take right now. */
  function wake(): void {
    const waiters = [...idle.waiters];
    idle.waiters.clear();
    for (const w of waiters) w();
  }

  /** Waits for `wake`, `signal` or, when given, `ms`. */
  function pause(signal: AbortSignal, ms?: number): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      idle.waiters.add(done);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        idle.waiters.delete(done);
        resolve();
      }
    });
  }

  // Batches a resolution step issues wake the idle loops, so the first batch goes out while the
  // step is still resolving the next ones.
  const resolverDeps: ResolverDeps = {
    ...deps,
    queue: {
      ...queue,
      async push(item) {
        const id = await queue.push(item);
        wake();
        return id;
      },
    },
  };

  async function promoteDue(): Promise<number> {
    if (now() - lastSchedule < scheduleEveryMs) return 0;
    lastSchedule = now();
    let promoted = 0;
    for (const { appId, sendId } of await queue.due(now(), 20)) {
      if (!(await queue.promote(appId, sendId, now()))) continue;
      const { changed } = await store.transition(appId, sendId, "queued", ["scheduled"]);
      await queue.settle(appId, sendId, changed ? { push: true } : { drop: true });
      if (changed) promoted++;
    }
    return promoted;
  }

  /** Settles sends whose queue write failed (see sweeper.ts), every `sweepEveryMs`. */
  async function sweep(): Promise<void> {
    if (now() - lastSweep < sweepEveryMs) return;
    lastSweep = now();
    await sweepIntents({ queue, store, logger }, { now: now(), graceMs: options.sweepGraceMs });
  }

  async function next(): Promise<QueueEntry | undefined> {
    if (now() - lastReclaim >= Math.min(claimIdleMs / 2, 5_000)) {
      lastReclaim = now();
      const [stalled] = await queue.reclaim(consumer, claimIdleMs, 1);
      if (stalled) return stalled;
    }
    const [fresh] = await queue.read(consumer, 1);
    return fresh;
  }

  async function handle(entry: QueueEntry): Promise<void> {
    const item = entry.item;
    if (!item) return await queue.ack(entry.id);
    const send = await store.load(item.appId, item.sendId);
    if (!send || send.status === "cancelled" || send.status === "failed") {
      return await queue.ack(entry.id);
    }
    if (item.kind === "resolve") {
      if (send.status !== "completed") await resolveStep(resolverDeps, send, item.at);
      return await queue.ack(entry.id);
    }
    // Touching the entry before each chunk, and every third of the claim idle time while the
    // batch runs, keeps a slow but live worker from losing it (a reclaimed batch would count
    // its pushes in flight Unconfirmed while they are still being answered).
    // A heartbeat that cannot reach Redis (a failover) must not abort pushes already claimed:
    // at worst the item is reclaimed after `claimIdleMs`, and the handled set skips the done.
    const heartbeat = () => queue.touch(consumer, entry.id).catch(() => {});
    const keepAlive = setInterval(heartbeat, Math.max(claimIdleMs / 3, 50));
    try {
      const report = await deps.deliverer.deliver(send, item.seq, item.ids, {
        heartbeat,
        uncertain: options.uncertain,
        results: false,
      });
      if (!report.stopped) {
        await store.progress(item.appId, item.sendId, { batchDone: item.seq });
      }
      await queue.ack(entry.id);
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** One item; true when there was one. Errors leave the item pending for a retry. */
  async function once(): Promise<boolean> {
    await sweep();
    await promoteDue();
    const entry = await next();
    if (!entry) return false;
    try {
      // Redis unreachable (a failover, a restart): the item is retried here for a while, well
      // within `claimIdleMs`, so no other worker takes it over meanwhile.
      await whileUnavailable(() => handle(entry), { budgetMs: claimIdleMs / 2 });
    } catch (error) {
      if (isPermanent(error) && entry.item) {
        // A domain error (the app is gone, its credential cannot be opened…) will not go away
        // by retrying: fail the send with it and drop the item.
        const { appId, sendId } = entry.item;
        await store.transition(appId, sendId, "failed", ["queued", "resolving", "sending"], {
          reason: error.name,
          message: error.message,
        });
        await queue.ack(entry.id);
        logger.warn("send failed", { sendId, error: error.message });
        return true;
      }
      // Infrastructure errors that outlast the retries leave the item pending; it is retried
      // here or reclaimed by another worker after `claimIdleMs`.
      logger.warn("send work item failed; it will be retried", {
        entry: entry.id,
        sendId: entry.item?.sendId,
        error: (error as Error).message,
      });
    }
    return true;
  }

  async function loop(signal: AbortSignal, deadline: number, counter: { n: number }) {
    let backoff = 5;
    let idlePolls = 0;
    let polling = false;
    // `drain` (a deadline) keeps every loop polling: each must see the queue empty to return.
    const shared = deadline === Infinity;
    while (!signal.aborted && now() < deadline) {
      let worked = false;
      try {
        worked = await once();
      } catch (error) {
        logger.warn("send worker poll failed", { error: (error as Error).message });
      }
      if (worked) {
        counter.n++;
        backoff = 5;
        idlePolls = 0;
        if (polling) idle.poller = polling = false;
        wake(); // more may be waiting behind this item
        continue;
      }
      idlePolls++;
      if (!shared && idlePolls >= 3) return;
      if (shared && !polling) {
        if (idle.poller) {
          await pause(signal);
          continue;
        }
        idle.poller = polling = true;
      }
      await pause(signal, backoff);
      backoff = Math.min(backoff * 2, maxIdleMs);
    }
    if (polling) idle.poller = false;
  }

  /** Creates the queue's groups, retrying with backoff while Redis is unreachable. */
  async function ready(signal: AbortSignal, deadline: number): Promise<boolean> {
    let wait = 100;
    while (!signal.aborted && now() < deadline) {
      try {
        await queue.ensureGroup();
        return true;
      } catch (error) {
        logger.warn("send worker cannot reach the queue yet; retrying", {
          error: (error as Error).message,
          retryInMs: wait,
        });
        await pause(signal, wait);
        wait = Math.min(wait * 2, 5_000);
      }
    }
    return false;
  }

  async function many(signal: AbortSignal, deadline: number): Promise<number> {
    if (!(await ready(signal, deadline))) return 0;
    const counter = { n: 0 };
    await Promise.all(Array.from({ length: concurrency }, () => loop(signal, deadline, counter)));
    return counter.n;
  }

  return {
    consumer,
    async run(signal) {
      await many(signal, Infinity);
    },
    async drain(ms) {
      return await many(new AbortController().signal, now() + ms);
    },
    async step() {
      await queue.ensureGroup();
      return await once();
    },
  };
}

/**
 * A domain error (the app is gone, its credential cannot be opened…) will not go away by
 * retrying; an outage (Redis unreachable) or an unexpected error may.
 */
function isPermanent(error: unknown): error is EdgepushError {
  return error instanceof EdgepushError && !(error instanceof Unavailable);
}
