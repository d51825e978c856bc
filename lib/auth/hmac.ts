/**
 * HMAC-SHA256 for user identity verification: an app backend signs a `userId` with the app's
 * user-signing secret, and the SDK presents that signature.
 *
 * @module
 */
import { safeEqual, toHex } from "./secrets.ts";

const encoder = new TextEncoder();

/** Hex HMAC-SHA256 of `message` under `secret`. */
export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message))));
}

/** True when `signature` is hex HMAC-SHA256(secret, message), compared in constant time. */
export async function verifyHmacSha256Hex(
  secret: string,
  message: string,
  signature: string,
): Promise<boolean> {
  return await safeEqual(signature.toLowerCase(), await hmacSha256Hex(secret, message));
}
