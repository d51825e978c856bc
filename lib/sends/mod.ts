/**
 * Campaign sends: creation (idempotent, `wait:true` for small audiences), resolution into a
 * shared Redis Stream, workers with a consumer group and `XAUTOCLAIM`, per-send handled record,
 * cancel, schedule, rate limit and the funnel (with the SDK's delivered/opened events).
 *
 * @module
 */
export * from "./schemas.ts";
export * from "./sends.ts";
export * from "./store.ts";
export * from "./queue.ts";
export * from "./worker.ts";
export * from "./sweeper.ts";
export * from "./deliver.ts";
export * from "./events.ts";
export { resolveStep } from "./resolver.ts";
export { partitionOf, QUEUE_PARTITIONS } from "./_keys.ts";
export * from "./recorder.ts";
