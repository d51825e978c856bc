/**
 * Upload-time check of an APNs token-auth key (.p8): it must be a PEM PKCS#8 P-256 key that
 * can sign, so a bad key is refused at the admin API instead of failing every send later.
 * Importing is lib/apns' (the key the relay signs with is read the same way).
 *
 * @module
 */
import { importApnsKey, signProviderToken } from "../apns/mod.ts";

/**
 * Checks that a .p8 PEM parses as P-256 PKCS#8 and signs.
 * @throws {ValidationFailed} naming `apns.privateKey` and what is wrong with it
 */
export async function validateApnsKey(pem: string): Promise<void> {
  const key = await importApnsKey(pem, "apns.privateKey");
  await signProviderToken(key, { teamId: "VALIDATE00", keyId: "VALIDATE00", iat: 0 });
}
