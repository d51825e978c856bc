/**
 * SDK delivery/open events and the per-send counters they feed.
 *
 * @module
 */
export * from "./events.ts";
export { eventKeys } from "./_keys.ts";
