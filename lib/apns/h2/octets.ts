/**
 * Header octets as a string, one character per byte (ISO-8859-1, the "isomorphic decode" of
 * HTTP header bytes, as Node's http2 and fetch read them).
 *
 * `String.fromCharCode` over the bytes: for the short values of an APNs answer (an `apns-id`,
 * a status, a reason) a `TextDecoder` costs an op call per string, ~a tenth of the relay's CPU
 * per notification in header decoding. (A "latin1" `TextDecoder` is windows-1252, which also
 * reads bytes 0x80–0x9F differently.)
 *
 * @module
 */

/** Arguments per `String.fromCharCode` call: well within any engine's argument limit. */
const CHUNK = 4096;

/** The bytes `bytes[start, end)` as a string of the same length, byte n → U+00nn. */
export function octetsToString(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= CHUNK) {
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  let out = "";
  for (let at = start; at < end; at += CHUNK) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(at, Math.min(end, at + CHUNK)) as unknown as number[],
    );
  }
  return out;
}
