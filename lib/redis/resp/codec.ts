/**
 * RESP2, the Redis wire protocol: commands written as arrays of bulk strings straight into
 * bytes, and a resumable reply parser that takes bytes as they arrive, however the network cut them.
 *
 * Every argument travels as a string and every bulk reply comes back as a string (UTF-8,
 * invalid bytes replaced), as ioredis' `call` and the Upstash REST API do.
 *
 * @module
 */

/** A reply: a string (simple or bulk), an integer, null (nil bulk or nil array), an array of
 * replies, or Redis' error reply. */
export type Reply = string | number | null | RespError | Reply[];

/** An error reply ("ERR …", "WRONGTYPE …", "NOSCRIPT …"): Redis' words, as a value, not thrown. */
export class RespError extends Error {
  override name = "RespError";
}

/** A reply stream Redis cannot have sent: the connection is out of step and must be dropped. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

const textEncoder = new TextEncoder();

/**
 * Commands encoded straight into bytes, for one connection's writes. ASCII arguments (ids,
 * numbers, hex, most JSON) are copied byte by byte; any other goes through TextEncoder.
 * Two buffers take turns: {@linkcode CommandBuffer.take} hands one over for writing and fills
 * the other, so a caller must finish writing what it took before it takes again.
 */
export class CommandBuffer {
  #buffers: [Uint8Array, Uint8Array];
  #current = 0;
  #length = 0;

  /** Starts with two buffers of `capacity` bytes each; they grow as needed. */
  constructor(capacity = 16 * 1024) {
    this.#buffers = [new Uint8Array(capacity), new Uint8Array(capacity)];
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.#length;
  }

  /** Drops what was written and not taken. */
  clear(): void {
    this.#length = 0;
  }

  /** Hands over the bytes written so far (a view, valid until the next take but one). */
  take(): Uint8Array {
    const out = this.#buffers[this.#current].subarray(0, this.#length);
    this.#current ^= 1;
    this.#length = 0;
    return out;
  }

  /** Appends one command as a RESP array of bulk strings. */
  write(command: readonly string[]): void {
    this.#reserve(16);
    let bytes = this.#buffers[this.#current];
    let at = this.#header(bytes, this.#length, 42, command.length);
    for (let i = 0; i < command.length; i++) {
      const arg = command[i];
      const n = arg.length;
      // UTF-8 needs at most 3 bytes per UTF-16 unit.
      this.#length = at;
      this.#reserve(n * 3 + 16);
      bytes = this.#buffers[this.#current];
      const start = at;
      at = this.#header(bytes, at, 36, n);
      let ascii = true;
      for (let j = 0; j < n; j++) {
        const c = arg.charCodeAt(j);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        bytes[at++] = c;
      }
      if (!ascii) {
        const encoded = textEncoder.encode(arg);
        at = this.#header(bytes, start, 36, encoded.length);
        bytes.set(encoded, at);
        at += encoded.length;
      }
      bytes[at++] = 13;
      bytes[at++] = 10;
    }
    this.#length = at;
  }

  /** Writes `<type><n>\r\n` at `at`; returns the end. */
  #header(bytes: Uint8Array, at: number, type: number, n: number): number {
    bytes[at++] = type;
    if (n < 10) {
      bytes[at++] = 48 + n;
    } else {
      const digits = String(n);
      for (let i = 0; i < digits.length; i++) bytes[at++] = digits.charCodeAt(i);
    }
    bytes[at++] = 13;
    bytes[at++] = 10;
    return at;
  }

  #reserve(extra: number): void {
    const bytes = this.#buffers[this.#current];
    if (this.#length + extra <= bytes.length) return;
    const grown = new Uint8Array(Math.max(bytes.length * 2, this.#length + extra));
    grown.set(bytes.subarray(0, this.#length));
    this.#buffers[this.#current] = grown;
  }
}

const CR = 13;
// ignoreBOM: a value that starts with U+FEFF keeps it, as Redis stores it.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** An array being filled: its items so far and how many it still needs. */
interface OpenArray {
  items: Reply[];
  left: number;
}

/**
 * Parses replies from a byte stream. {@linkcode RespParser.push} takes each chunk as it came
 * and returns the replies it completed, in order; a reply split across chunks is finished by a
 * later push. Nested arrays are kept open between pushes, so a large reply costs one pass over
 * its bytes whatever the chunking.
 */
export class RespParser {
  #buffer: Uint8Array = new Uint8Array(0);
  #offset = 0;
  #open: OpenArray[] = [];
  /** Where the element {@linkcode RespParser.#element} last returned ends. */
  #end = 0;

  /** Bytes received and not yet consumed (an unfinished element). */
  get pending(): number {
    return this.#buffer.length - this.#offset;
  }

  /** Forgets everything buffered: for a new connection. */
  reset(): void {
    this.#buffer = new Uint8Array(0);
    this.#offset = 0;
    this.#open = [];
  }

  /**
   * Feeds a chunk; returns the top-level replies it completed. Throws {@linkcode ProtocolError}.
   * The chunk is not kept once this returns (an unfinished element is copied), so the caller may
   * read into the same buffer again.
   */
  push(chunk: Uint8Array): Reply[] {
    this.#append(chunk);
    const done: Reply[] = [];
    const buf = this.#buffer;
    for (;;) {
      const start = this.#offset;
      let value = this.#element(buf, start);
      if (value === INCOMPLETE) break;
      this.#offset = this.#end;
      if (value === OPEN) continue;
      // Close every array this value completes.
      for (;;) {
        const top = this.#open[this.#open.length - 1];
        if (top === undefined) {
          done.push(value);
          break;
        }
        top.items.push(value);
        if (--top.left > 0) break;
        this.#open.pop();
        value = top.items;
      }
    }
    if (this.#offset < buf.length && buf === chunk) {
      this.#buffer = buf.slice(this.#offset);
      this.#offset = 0;
    }
    return done;
  }

  #append(chunk: Uint8Array): void {
    const rest = this.#buffer.length - this.#offset;
    if (rest === 0) {
      this.#buffer = chunk;
    } else {
      const joined = new Uint8Array(rest + chunk.length);
      joined.set(this.#buffer.subarray(this.#offset));
      joined.set(chunk, rest);
      this.#buffer = joined;
    }
    this.#offset = 0;
  }

  /**
   * One element at `at`: a value, OPEN when an array was started, or INCOMPLETE. Where it ends
   * goes to `#end` (no result object per element: a large reply has many).
   */
  #element(buf: Uint8Array, at: number): Reply | typeof OPEN | typeof INCOMPLETE {
    if (at >= buf.length) return INCOMPLETE;
    const lineEnd = findCrlf(buf, at + 1);
    if (lineEnd < 0) return INCOMPLETE;
    const type = buf[at];
    // Every element but a bulk string ends with its first line.
    this.#end = lineEnd + 2;
    switch (type) {
      case 43: // '+'
        return text(buf, at + 1, lineEnd);
      case 45: // '-'
        return new RespError(utf8.decode(buf.subarray(at + 1, lineEnd)));
      case 58: // ':'
        return integer(buf, at + 1, lineEnd);
      case 36: { // '$'
        const length = integer(buf, at + 1, lineEnd);
        if (length === -1) return null;
        if (!(length >= 0)) throw new ProtocolError(`bad bulk length ${length}`);
        const from = lineEnd + 2;
        if (buf.length < from + length + 2) return INCOMPLETE;
        if (buf[from + length] !== CR || buf[from + length + 1] !== 10) {
          throw new ProtocolError("bulk string without CRLF");
        }
        this.#end = from + length + 2;
        return text(buf, from, from + length);
      }
      case 42: { // '*'
        const count = integer(buf, at + 1, lineEnd);
        if (count === -1) return null;
        if (!(count >= 0)) throw new ProtocolError(`bad array length ${count}`);
        if (count === 0) return [];
        this.#open.push({ items: [], left: count });
        return OPEN;
      }
      default:
        throw new ProtocolError(`unexpected reply type byte ${type}`);
    }
  }
}

const INCOMPLETE = Symbol("incomplete");
const OPEN = Symbol("open array");

function findCrlf(buf: Uint8Array, from: number): number {
  const at = buf.indexOf(CR, from);
  if (at < 0 || at + 1 >= buf.length) return -1;
  if (buf[at + 1] !== 10) throw new ProtocolError("CR without LF");
  return at;
}

function integer(buf: Uint8Array, from: number, to: number): number {
  let negative = false;
  let i = from;
  if (buf[i] === 45) {
    negative = true;
    i++;
  }
  if (i >= to) throw new ProtocolError("empty integer");
  let n = 0;
  for (; i < to; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) throw new ProtocolError("bad integer");
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/**
 * Short ASCII strings are built by hand: cheaper than a TextDecoder call each. Past ~16 bytes
 * the decoder wins (concatenating char by char allocates an intermediate string per byte).
 */
function text(buf: Uint8Array, from: number, to: number): string {
  if (to - from > 16) return utf8.decode(buf.subarray(from, to));
  let out = "";
  for (let i = from; i < to; i++) {
    const c = buf[i];
    if (c > 0x7f) return utf8.decode(buf.subarray(from, to));
    out += String.fromCharCode(c);
  }
  return out;
}
