/**
 * What main.ts runs its commands on: booting Redis and the services (embedded or configured),
 * the shutdown steps, signal handling and the port check, and the `redis-http` gateway command.
 * Only main.ts and jobs/ use it.
 *
 * @module
 */
export * from "./boot.ts";
export * from "./process.ts";
export * from "./redis_http.ts";
export * from "./redis_target.ts";
