/**
 * Test-session codes: short, unguessable and easy to read aloud.
 *
 * @module
 */
import { CODE_ALPHABET, CODE_LENGTH } from "./schemas.ts";

/**
 * A fresh code: {@linkcode CODE_LENGTH} symbols of the 32-symbol {@linkcode CODE_ALPHABET}
 * from the CSPRNG (60 bits). 256 is a multiple of 32, so masking a byte adds no bias.
 */
export function generateCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(CODE_LENGTH));
  let code = "";
  for (const byte of bytes) code += CODE_ALPHABET[byte & 31];
  return code;
}

/** The deep link a test device opens by scanning the QR code. */
export function deepLinkFor(urlScheme: string, code: string): string {
  return `${urlScheme}://edgepush/test-session?code=${code}`;
}
