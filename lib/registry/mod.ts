/**
 * The token registry: installations, APNs tokens, users and the app's reachable sets, each
 * change one Lua script (see scripts/).
 *
 * @module
 */
export * from "./errors.ts";
export * from "./identity.ts";
export * from "./registry.ts";
export * from "./schemas.ts";
