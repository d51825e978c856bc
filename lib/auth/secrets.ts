/**
 * Secrets: generation from a CSPRNG, SHA-256 hashing for storage, and constant-time comparison.
 * Only hashes are ever stored; a secret is shown once and then forgotten.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";

const encoder = new TextEncoder();

/** Returns `bytes` random bytes from the CSPRNG as base64url (no padding). */
export function randomSecret(bytes = 32): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Returns a random lowercase id of `bytes` random bytes in hex, for non-secret identifiers. */
export function randomId(bytes = 12): string {
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** SHA-256 of a UTF-8 string, as lowercase hex: the stored form of keys and secrets. */
export async function sha256Hex(value: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value))));
}

/**
 * Compares a presented secret with a stored SHA-256 hex hash in constant time. Hashing the
 * presented value first makes both sides the same length, so length leaks nothing either.
 */
export async function matchesHash(presented: string, storedHash: string): Promise<boolean> {
  const presentedHash = encoder.encode(await sha256Hex(presented));
  const stored = encoder.encode(storedHash);
  if (stored.length !== presentedHash.length) return false;
  return timingSafeEqual(presentedHash, stored);
}

/** Constant-time equality of two strings of any length (hashes both first). */
export async function safeEqual(a: string, b: string): Promise<boolean> {
  return await matchesHash(a, await sha256Hex(b));
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
