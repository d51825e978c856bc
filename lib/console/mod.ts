/**
 * The console's own state: sessions and the sign-in throttle, both in Redis (no files, so it
 * runs the same on Deno Deploy).
 *
 * @module
 */
export * from "./sessions.ts";
export * from "./sign_in_throttle.ts";
