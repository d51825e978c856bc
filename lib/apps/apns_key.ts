/**
 * Upload-time check of an APNs token-auth key (.p8): it must be a PEM PKCS#8 P-256 key that
 * can sign, so a bad key is refused at the admin API instead of failing every send later.
 *
 * @module
 */
import { ValidationFailed } from "../errors.ts";

/** Imports a .p8 PEM as an ECDSA P-256 signing key. @throws {ValidationFailed} */
export async function importApnsKey(pem: string): Promise<CryptoKey> {
  const body = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!body) {
    throw new ValidationFailed("apns.privateKey must be a PEM 'PRIVATE KEY' (the .p8 file)", [{
      path: "apns.privateKey",
      message: "not a PKCS#8 PEM",
    }]);
  }
  try {
    const der = Uint8Array.from(atob(body[1].replace(/\s+/g, "")), (ch) => ch.charCodeAt(0));
    return await crypto.subtle.importKey(
      "pkcs8",
      der,
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      [
        "sign",
      ],
    );
  } catch {
    throw new ValidationFailed("apns.privateKey is not a P-256 (ES256) private key", [{
      path: "apns.privateKey",
      message: "not a P-256 PKCS#8 key",
    }]);
  }
}

/** Checks that a .p8 PEM parses as P-256 PKCS#8 and signs. @throws {ValidationFailed} */
export async function validateApnsKey(pem: string): Promise<void> {
  const key = await importApnsKey(pem);
  await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new Uint8Array([1]));
}
