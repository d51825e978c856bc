/**
 * A plain reference encoder for RESP commands, as text: what lib/redis/resp/codec.ts's
 * `CommandBuffer` must write, byte for byte.
 *
 * @module
 */

/**
 * Encodes commands into one string of RESP arrays, to be UTF-8 encoded and written at once.
 * Byte lengths are counted here so the text is built in one pass.
 */
export function encodeCommands(commands: readonly (readonly string[])[]): string {
  let out = "";
  for (const command of commands) out += encodeCommand(command);
  return out;
}

/** One command as a RESP array of bulk strings. */
export function encodeCommand(command: readonly string[]): string {
  let out = "*" + command.length + "\r\n";
  for (let i = 0; i < command.length; i++) {
    const arg = command[i];
    out += "$" + utf8Length(arg) + "\r\n" + arg + "\r\n";
  }
  return out;
}

/** The UTF-8 byte length of a string (lone surrogates count as U+FFFD, as TextEncoder writes). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      // A surrogate pair is 2 UTF-16 units and 4 bytes.
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2;
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}
