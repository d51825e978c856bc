/**
 * Segments: uploaded user lists narrowed by an optional rule, with materialized reach sets kept
 * current incrementally (segment_reindex in every registry script) and reconciled daily.
 *
 * @module
 */
export * from "./segments.ts";
export * from "./schemas.ts";
export * from "./rules.ts";
export * from "./sync.ts";
export * from "./sync_run.ts";
export * from "./lock.ts";
export { segmentReindexLua, withLibrary } from "./scripts.ts";
