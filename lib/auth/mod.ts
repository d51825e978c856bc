/**
 * Secrets, hashes, constant-time comparison and HMAC user signatures.
 *
 * @module
 */
export * from "./hmac.ts";
export * from "./secrets.ts";
