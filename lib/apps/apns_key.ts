/**
 * Upload-time check of an APNs token-auth key (.p8): it must be a PEM PKCS#8 P-256 key that
 * can sign, so a bad key is refused at the admin API instead of failing every send later.
 *
 * @module
 */
import { P8_NOT_P256, p8Problem } from "../apns/p8.ts";
import { ValidationFailed } from "../errors.ts";

/** Imports a .p8 PEM as an ECDSA P-256 signing key. @throws {ValidationFailed} */
export async function importApnsKey(pem: string): Promise<CryptoKey> {
  const body = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!body) {
    const problem = p8Problem(pem) ?? p8Problem("")!;
    throw new ValidationFailed(`apns.privateKey: ${problem}`, [{
      path: "apns.privateKey",
      message: problem,
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
    throw new ValidationFailed(`apns.privateKey: ${P8_NOT_P256}`, [{
      path: "apns.privateKey",
      message: P8_NOT_P256,
    }]);
  }
}

/** Checks that a .p8 PEM parses as P-256 PKCS#8 and signs. @throws {ValidationFailed} */
export async function validateApnsKey(pem: string): Promise<void> {
  const key = await importApnsKey(pem);
  await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new Uint8Array([1]));
}
