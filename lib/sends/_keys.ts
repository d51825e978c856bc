/**
 * Redis keys of sends.
 *
 * Per-send state lives under the app's hash tag (`ep:v1:{appId}:send:<sendId>…`), so every Lua
 * script that updates a send touches one cluster slot. Work that workers poll across apps needs
 * global keys: one stream of work items (`ep:v1:sendq`, read through the consumer group
 * `workers`) and one sorted set of scheduled sends (`ep:v1:sendsched`). Those two are only ever
 * touched by single commands, never together with per-app keys in one script, so they may live
 * in any slot.
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
   * it, then `a` once APNs accepted it or `d` once it failed or was skipped. SDK events count
   * only for installations that are `a` or still pending.
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
  /** Stream: work items for workers (resolve steps and recipient batches), all apps. */
  queue: () => "ep:v1:sendq",
  /** Consumer group of {@linkcode sendKeys.queue}. */
  group: () => "workers",
  /** Sorted set: `appId/sendId` members scored by their `scheduleAt` (ms), all apps. */
  scheduled: () => "ep:v1:sendsched",
};
