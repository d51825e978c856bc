/**
 * HTTP/2 framing (RFC 9113 §4, §6): the frame types, flags and error codes the client uses, a
 * frame's bytes, and the read loop that cuts a TLS stream into frames and assembles header blocks
 * across CONTINUATION frames. Everything read is untrusted: sizes are bounded, and a frame that
 * breaks the rules throws {@linkcode H2Error}, which the session answers with GOAWAY.
 *
 * @module
 */

/** Frame types. */
export const Type = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

/** Frame flags (END_STREAM and ACK share a bit; each belongs to other frame types). */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes. */
export const Code = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  FLOW_CONTROL_ERROR: 3,
  FRAME_SIZE_ERROR: 6,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
} as const;

/** Largest frame accepted: the protocol's default, as the client announces no other. */
export const MAX_FRAME = 16_384;
/** Largest header block accepted across CONTINUATIONs. */
export const MAX_HEADER_BLOCK = 65_536;

/** A connection error: the peer broke the protocol; answered with GOAWAY `code`. */
export class H2Error extends Error {
  override name = "H2Error";
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** One frame's bytes. */
export function encodeFrame(type: number, flags: number, id: number, payload: Uint8Array) {
  const frame = new Uint8Array(9 + payload.length);
  const length = payload.length;
  frame[0] = length >>> 16;
  frame[1] = (length >>> 8) & 0xff;
  frame[2] = length & 0xff;
  frame[3] = type;
  frame[4] = flags;
  frame[5] = (id >>> 24) & 0x7f;
  frame[6] = (id >>> 16) & 0xff;
  frame[7] = (id >>> 8) & 0xff;
  frame[8] = id & 0xff;
  frame.set(payload, 9);
  return frame;
}

/** A payload of 32-bit big-endian words: RST_STREAM's code, WINDOW_UPDATE's increment, GOAWAY's last id and code. */
export function words(...values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => view.setUint32(4 * i, value));
  return out;
}

/** What {@linkcode readFrames} hands over. */
export interface FrameHandlers {
  /** Any frame but HEADERS and CONTINUATION; `payload` is only valid during the call. */
  frame(type: number, flags: number, id: number, payload: Uint8Array): void;
  /**
   * A complete header block (padding and priority removed), with the HEADERS frame's flags;
   * `block` is only valid during the call.
   */
  headers(id: number, flags: number, block: Uint8Array): void;
}

/**
 * Reads frames from `conn` until the peer closes it (then resolves).
 *
 * @throws {H2Error} on a frame that breaks the rules; whatever the handlers or the socket throw.
 */
export async function readFrames(conn: Deno.Conn, handlers: FrameHandlers): Promise<void> {
  let buf = new Uint8Array(65_536);
  let have = 0;
  let block: { id: number; flags: number; parts: Uint8Array[]; size: number } | null = null;
  while (true) {
    const n = await conn.read(buf.subarray(have));
    if (n === null) return;
    have += n;
    let at = 0;
    while (have - at >= 9) {
      const length = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
      if (length > MAX_FRAME) throw new H2Error(Code.FRAME_SIZE_ERROR, `a ${length}-byte frame`);
      if (have - at < 9 + length) break;
      const type = buf[at + 3];
      const flags = buf[at + 4];
      const id = ((buf[at + 5] & 0x7f) << 24 | (buf[at + 6] << 16) | (buf[at + 7] << 8) |
        buf[at + 8]) >>> 0;
      const payload = buf.subarray(at + 9, at + 9 + length);
      at += 9 + length;
      if (block && (type !== Type.CONTINUATION || id !== block.id)) {
        throw new H2Error(Code.PROTOCOL_ERROR, "a header block was interrupted");
      }
      if (type !== Type.HEADERS && type !== Type.CONTINUATION) {
        handlers.frame(type, flags, id, payload);
        continue;
      }
      if (type === Type.HEADERS) {
        if (id === 0) throw new H2Error(Code.PROTOCOL_ERROR, "HEADERS on stream 0");
        block = { id, flags, parts: [], size: 0 };
        const fragment = headersFragment(payload, flags);
        // A block that ends in this frame (every APNs answer) is handed over before the read
        // buffer is reused: no copy.
        block.parts.push((flags & Flag.END_HEADERS) !== 0 ? fragment : fragment.slice());
        block.size += fragment.length;
      } else {
        if (!block) throw new H2Error(Code.PROTOCOL_ERROR, "CONTINUATION without HEADERS");
        block.parts.push(payload.slice());
        block.size += payload.length;
      }
      if (block.size > MAX_HEADER_BLOCK) {
        throw new H2Error(Code.PROTOCOL_ERROR, "header block too large");
      }
      if ((flags & Flag.END_HEADERS) !== 0) {
        const done = block;
        block = null;
        handlers.headers(done.id, done.flags, concat(done.parts, done.size));
      }
    }
    if (at > 0) {
      buf.copyWithin(0, at, have);
      have -= at;
    }
    if (have === buf.length) {
      // Only a frame larger than the buffer can fill it: grow to the largest one accepted.
      if (buf.length >= 9 + MAX_FRAME) throw new H2Error(Code.FRAME_SIZE_ERROR, "frame too large");
      const bigger = new Uint8Array(9 + MAX_FRAME);
      bigger.set(buf);
      buf = bigger;
    }
  }
}

/** A HEADERS payload without its padding and priority fields. */
function headersFragment(payload: Uint8Array, flags: number): Uint8Array {
  let start = 0;
  let end = payload.length;
  if ((flags & Flag.PADDED) !== 0) {
    if (payload.length < 1) throw new H2Error(Code.PROTOCOL_ERROR, "HEADERS padding");
    start = 1;
    end -= payload[0];
  }
  if ((flags & Flag.PRIORITY) !== 0) start += 5;
  if (end < start) throw new H2Error(Code.PROTOCOL_ERROR, "HEADERS padding exceeds the frame");
  return payload.subarray(start, end);
}

/** A padded DATA payload without its padding. */
export function unpad(payload: Uint8Array): Uint8Array {
  if (payload.length < 1 || payload[0] >= payload.length) {
    throw new H2Error(Code.PROTOCOL_ERROR, "DATA padding exceeds the frame");
  }
  return payload.subarray(1, payload.length - payload[0]);
}

/** The first `size` bytes of `parts`, joined. */
export function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1 && parts[0].length === size) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    const n = Math.min(part.length, size - at);
    out.set(part.subarray(0, n), at);
    at += n;
    if (at >= size) break;
  }
  return out;
}
