/**
 * Fresh APNs-style auth keys for tests: a P-256 key pair whose private half is a PKCS#8 PEM,
 * exactly like the .p8 files Apple issues.
 *
 * @module
 */

/** A generated auth key. */
export interface TestApnsKey {
  /** The .p8 content. */
  privateKeyPem: string;
  /** The public half, for `mock.addKey`. */
  publicKey: CryptoKey;
}

/** Generates a P-256 auth key. */
export async function generateApnsKey(): Promise<TestApnsKey> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g)!.join("\n");
  return {
    privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${lines}\n-----END PRIVATE KEY-----\n`,
    publicKey: pair.publicKey,
  };
}
