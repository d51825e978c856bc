/**
 * The intent sweeper: finds sends whose queue or schedule write never happened (the request
 * that created or promoted them failed half-way, or the process died) and settles them from
 * their recorded status, so no send stays "queued" or "scheduled" forever. Workers run it every
 * little while; settling is exactly-once (see `Queue.settle`), so any number may run it.
 *
 * @module
 */
import type { Logger } from "../observability/logger.ts";
import type { Queue, Settlement } from "./queue.ts";
import type { SendStore } from "./store.ts";

/** What {@linkcode sweepIntents} needs. */
export interface SweepDeps {
  queue: Queue;
  store: SendStore;
  logger: Logger;
}

/** Options of {@linkcode sweepIntents}. */
export interface SweepOptions {
  /** Now, epoch ms. */
  now: number;
  /**
   * An intent younger than this (ms) may still be settled by its request: leave it. It must
   * exceed the longest a request can take between its two writes (the Redis command timeout
   * bounds that to seconds). Default: 60,000.
   */
  graceMs?: number;
  /** Most intents settled per call. Default: 100. */
  limit?: number;
}

/** Settles stale intents by their send's status; returns how many it settled. */
export async function sweepIntents(deps: SweepDeps, options: SweepOptions): Promise<number> {
  const stale = await deps.queue.staleIntents(
    options.now - (options.graceMs ?? 60_000),
    options.limit ?? 100,
  );
  let settled = 0;
  for (const { appId, sendId, since } of stale) {
    const send = await deps.store.load(appId, sendId);
    let how: Settlement = { drop: true };
    if (send?.status === "queued") how = { push: true };
    else if (send?.status === "scheduled") how = { scheduleAt: send.scheduleAt ?? options.now };
    if (!(await deps.queue.settle(appId, sendId, how))) continue;
    settled++;
    if (!("drop" in how)) {
      deps.logger.warn("send recovered: its queue write had not happened", {
        appId,
        sendId,
        status: send?.status,
        since: new Date(since).toISOString(),
      });
    }
  }
  return settled;
}
