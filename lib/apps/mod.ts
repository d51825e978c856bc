/**
 * Apps: the tenant of every other resource, with its APNs credentials and keys.
 *
 * @module
 */
export * from "./apps.ts";
export * from "./schemas.ts";
export * from "./apns_key.ts";
