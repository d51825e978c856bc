/**
 * Redis keys of sends.
 *
 * Per-send state lives under the app's hash tag (`ep:v1:{appId}:send:<sendId>…`), so every Lua
 * script that updates a send touches one cluster slot. Work that workers poll across apps lives in
 * {@linkcode QUEUE_PARTITIONS} partitions, each under its own hash tag `{q:<n>}`, so a cluster
 * spreads the queue's traffic over its masters: a stream of work items (read through the
 * consumer group `workers`), a sorted set of scheduled sends, and a sorted set of *intents*
 * (sends whose queue write may not have happened yet; see queue.ts). An app's sends always use
 * partition `partitionOf(appId)`. Partition keys are never touched together with per-app keys
 * in one script or transaction.
 *
 * @module
 */

/** Redis keys of the sends area. */
export const sendKeys = {
  /**
   * `ep:v1:{appId}:` — passed as KEYS[1] to record_events.lua, which builds the per-send keys
   * below (`send:<sendId>:handled`, `:events`, `:events:seen`) for the send ids it is given.
   */
  prefix: (appId: string) => `ep:v1:{${appId}}:`,
  /** Hash: the send record (status, spec, rendered message, counters, timestamps). */
  send: (appId: string, sendId: string) => `ep:v1:{${appId}}:send:${sendId}`,
  /**
   * Hash: the per-send record of handled installations: id → the batch number that claimed
   * it, then `a` once APNs accepted it, `u` once it failed `Unconfirmed` (a crash left its fate
   * unknown) or `d` once it failed otherwise or was skipped. SDK events count only for
   * installations that are `a`, `u` or still pending; one for `u` settles it as `a`.
   */
  handled: (appId: string, sendId: string) => `ep:v1:{${appId}}:send:${sendId}:handled`,
  /** Hash: APNs reason → number of failed recipients. */
  failures: (appId: string, sendId: string) => `ep:v1:{${appId}}:send:${sendId}:failures`,
  /** Set: sequence numbers of the batches that are done. */
  batchesDone: (appId: string, sendId: string) => `ep:v1:{${appId}}:send:${sendId}:bdone`,
  /** List: the explicit audience (installation ids or user ids), read in slices by the resolver. */
  audience: (appId: string, sendId: string) => `ep:v1:{${appId}}:send:${sendId}:aud`,
  /** Hash: the token bucket of `ratePerSecond` (shared by every worker). */
  bucket: (appId: string, sendId: string) => `ep:v1:{${appId}}:send:${sendId}:bucket`,
  /** String: per-recipient results of a `wait:true` send (JSON), for idempotent replays. */
  results: (appId: string, sendId: string) => `ep:v1:{${appId}}:send:${sendId}:results`,
  /** Hash: `delivered` / `opened` counters of one send (SDK events). Read by the funnel. */
  eventCounts: (appId: string, sendId: string) => `ep:v1:{${appId}}:send:${sendId}:events`,
  /** Set: `<type>:<installationId>` already counted for one send (expires; dedup window). */
  eventsSeen: (appId: string, sendId: string) => `ep:v1:{${appId}}:send:${sendId}:events:seen`,
  /** Sorted set: the app's sends by creation time (ms), newest last; trimmed. */
  index: (appId: string) => `ep:v1:{${appId}}:sends`,
  /** String: an Idempotency-Key's record (JSON `{bodyHash, sendId}`), keyed by the key's hash. */
  idempotency: (appId: string, keyHash: string) => `ep:v1:{${appId}}:sendidem:${keyHash}`,
  /** Stream: work items (resolve steps and recipient batches) of the partition's apps. */
  queue: (partition: number) => `ep:v1:{q:${partition}}:sendq`,
  /** Consumer group of every {@linkcode sendKeys.queue}. */
  group: () => "workers",
  /** Sorted set: `appId/sendId` members scored by their `scheduleAt` (ms). */
  scheduled: (partition: number) => `ep:v1:{q:${partition}}:sendsched`,
  /**
   * Sorted set: `appId/sendId` of sends about to be queued or scheduled, scored by when that
   * began (ms). Settled (removed) in the same script that writes the queue or schedule entry.
   */
  intents: (partition: number) => `ep:v1:{q:${partition}}:sendintent`,
  /** The single stream of releases before partitioning; still drained, never written. */
  legacyQueue: () => "ep:v1:sendq",
  /** The single schedule of releases before partitioning; still read, never written. */
  legacyScheduled: () => "ep:v1:sendsched",
};

/** How many partitions the send queue and schedule have. Changing it strands queued work. */
export const QUEUE_PARTITIONS = 8;

/** The partition of an app's sends: FNV-1a of the app id, modulo the partition count. */
export function partitionOf(appId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < appId.length; i++) {
    hash ^= appId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % QUEUE_PARTITIONS;
}
