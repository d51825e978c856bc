/**
 * Secrets: generation from a CSPRNG, SHA-256 hashing for storage, and constant-time comparison.
 * Only hashes are ever stored; a secret is shown once and then forgotten.
 *
 * @module
 */
import { hash, timingSafeEqual } from "node:crypto";

const encoder = new TextEncoder();

// Random bytes are drawn from the CSPRNG 4 KiB at a time and each byte is handed out once:
// a `getRandomValues` call per secret or id cost ~1.2 µs (a registration draws twice), a slice
// of the pool ~0.1 µs. Node's randomUUID pools the same way.
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolAt = POOL_BYTES;

/** `bytes` fresh random bytes: a view of the pool, valid until the next draw. */
function draw(bytes: number): Uint8Array {
  if (bytes > POOL_BYTES) return crypto.getRandomValues(new Uint8Array(bytes));
  if (poolAt + bytes > POOL_BYTES) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const start = poolAt;
  poolAt += bytes;
  return pool.subarray(start, poolAt);
}

/** Returns `bytes` random bytes from the CSPRNG as base64url (no padding). */
export function randomSecret(bytes = 32): string {
  return toBase64Url(draw(bytes));
}

/** Returns a random lowercase id of `bytes` random bytes in hex, for non-secret identifiers. */
export function randomId(bytes = 12): string {
  return toHex(draw(bytes));
}

/** SHA-256 of a UTF-8 string, as lowercase hex: the stored form of keys and secrets. */
export function sha256Hex(value: string): Promise<string> {
  return Promise.resolve(sha256HexSync(value));
}

/**
 * {@linkcode sha256Hex} without the promise. Hashes in-thread with `node:crypto`: for the short
 * inputs hashed here that is ~1 µs, where `crypto.subtle.digest` costs ~30 µs (and much more
 * under load) because each call is dispatched to a blocking thread pool and awaited.
 */
export function sha256HexSync(value: string): string {
  // A string is hashed as UTF-8, lone surrogates as U+FFFD: the bytes TextEncoder gives.
  return hash("sha256", value, "hex");
}

/**
 * Compares a presented secret with a stored SHA-256 hex hash in constant time. Hashing the
 * presented value first makes both sides the same length, so length leaks nothing either.
 */
export function matchesHash(presented: string, storedHash: string): Promise<boolean> {
  return Promise.resolve(matchesHashSync(presented, storedHash));
}

/** {@linkcode matchesHash} without the promise. */
export function matchesHashSync(presented: string, storedHash: string): boolean {
  const presentedHash = encoder.encode(sha256HexSync(presented));
  const stored = encoder.encode(storedHash);
  if (stored.length !== presentedHash.length) return false;
  return timingSafeEqual(presentedHash, stored);
}

/** Constant-time equality of two strings of any length (hashes both first). */
export function safeEqual(a: string, b: string): Promise<boolean> {
  return Promise.resolve(matchesHashSync(a, sha256HexSync(b)));
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return bytes.toHex();
}

/** base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}
