/**
 * Diagnoses an APNs auth key (.p8) that will not import, in words that give the fix: the key
 * pasted with literal `\n`s, a SEC1 (`BEGIN EC PRIVATE KEY`) or encrypted key that `openssl` can
 * convert, or something that is not a private key at all.
 *
 * @module
 */

/**
 * What is wrong with `pem` before it is parsed, with the fix, or `null` when it looks like a
 * PKCS#8 PEM (which may still fail to import: see {@linkcode P8_NOT_P256}).
 */
export function p8Problem(pem: string): string | null {
  if (pem.includes("\\n") && !/-----\r?\n/.test(pem)) {
    return "the key holds literal \\n sequences instead of line breaks (an escaped copy, from " +
      "JSON or an environment variable): send the .p8 file's text with real newlines, e.g. read " +
      'it with `Deno.readTextFileSync("AuthKey_X.p8")` or `jq -Rs . AuthKey_X.p8`';
  }
  if (pem.includes("BEGIN EC PRIVATE KEY")) {
    return "the key is in SEC1 form (BEGIN EC PRIVATE KEY); APNs keys are PKCS#8 (BEGIN PRIVATE " +
      "KEY). Convert it: `openssl pkcs8 -topk8 -nocrypt -in key.pem -out AuthKey.p8`";
  }
  if (pem.includes("BEGIN ENCRYPTED PRIVATE KEY")) {
    return "the key is encrypted; decrypt it to the plain PKCS#8 form: " +
      "`openssl pkcs8 -in key.pem -out AuthKey.p8`";
  }
  if (!/-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----/.test(pem)) {
    return pem.includes("BEGIN CERTIFICATE") || pem.includes("BEGIN RSA PRIVATE KEY")
      ? "this is not an APNs auth key: token auth takes the .p8 file from App Store Connect " +
        "(Users and Access → Keys); a certificate goes in `certificate` instead"
      : "not a PEM private key: expected the .p8 file's text, from -----BEGIN PRIVATE KEY----- " +
        "to -----END PRIVATE KEY-----";
  }
  return null;
}

/** The complaint for a PKCS#8 key that is not on P-256 (APNs signs with ES256). */
export const P8_NOT_P256 = "the key is not a P-256 (ES256) private key; APNs auth keys are " +
  "P-256 .p8 files from App Store Connect (Users and Access → Keys)";
