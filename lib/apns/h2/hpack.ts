/**
 * HPACK (RFC 7541) for one HTTP/2 connection to APNs: an encoder for requests, whose headers are
 * the same for every recipient of a message but `:path`, and a decoder for APNs' answers.
 *
 * The encoder indexes a message's fixed headers (the provider token is ~170 bytes) in the
 * connection's dynamic table on first use and then sends each as one or two bytes; `:path` is
 * sent literally and never indexed. It never Huffman-codes (the server must accept both).
 * The decoder implements the whole format: indexed fields, literals with and without indexing,
 * table size updates and Huffman-coded strings. Its input is untrusted: any malformed block
 * throws {@linkcode HpackError}, which the session answers as a connection error.
 *
 * @module
 */
import { huffmanDecode } from "./huffman.ts";
import { octetsToString } from "./octets.ts";

/** A header block that does not decode: a connection error (COMPRESSION_ERROR). */
export class HpackError extends Error {
  override name = "HpackError";
}

/** RFC 7541 Appendix A. */
const STATIC: ReadonlyArray<readonly [string, string]> = [
  ["", ""],
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];
const STATIC_COUNT = STATIC.length - 1;
const STATIC_NAME = new Map<string, number>();
for (let i = STATIC_COUNT; i >= 1; i--) STATIC_NAME.set(STATIC[i][0], i);

/** The size HPACK charges for a decoded entry (latin1: one character per byte). */
const entrySize = (name: string, value: string) => name.length + value.length + 32;

const encoder = new TextEncoder();

/** Appends `value` as an HPACK integer with an `n`-bit prefix whose high bits are `flags`. */
function putInt(out: number[], value: number, n: number, flags: number): void {
  const max = (1 << n) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  value -= max;
  while (value >= 128) {
    out.push((value & 127) | 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

/** Appends `text` as a plain (not Huffman-coded) string literal. */
function putString(out: number[], text: string): void {
  const bytes = encoder.encode(text);
  putInt(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

/** One request's fixed headers, encoded against one connection's table; see {@linkcode HpackEncoder.block}. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

/**
 * The request side of one connection. Entries it inserted are tracked exactly as the server's
 * decoder tracks them (same sizes, same evictions), so an entry is referred to by index only
 * while the server still holds it.
 */
export class HpackEncoder {
  /** Insertion numbers of the entries in the table, by "name\0value". */
  #seq = new Map<string, number>();
  /** The table, oldest first: [key, size, insertion number]. */
  #entries: Array<[string, number, number]> = [];
  #inserted = 0;
  #size = 0;
  #max = 4096;
  #pendingResize: number | null = null;
  /** Bumped by every insertion and resize: cached bytes built under another are stale. */
  #generation = 0;
  #built = new WeakMap<HeaderList, { generation: number; authority: string; bytes: Uint8Array }>();

  /** Applies the server's SETTINGS_HEADER_TABLE_SIZE (the encoder uses at most 4096). */
  setMaxSize(size: number): void {
    const max = Math.min(4096, size);
    if (max === this.#max) return;
    this.#max = max;
    this.#evict(0);
    this.#pendingResize = max;
    this.#generation++;
  }

  /**
   * The header block of one POST: the pseudo-headers, `path`, then `fixed` (indexed in the
   * dynamic table once, referred to by index after). Blocks must be sent in the order built.
   */
  block(authority: string, path: string, fixed: HeaderList): Uint8Array {
    // Everything but :method, :scheme and :path is the same for every recipient of a message:
    // its bytes are reused while the table has not changed since they were built.
    let rest = this.#built.get(fixed);
    if (!rest || rest.generation !== this.#generation || rest.authority !== authority) {
      const out: number[] = [];
      const resize: number[] = [];
      if (this.#pendingResize !== null) {
        putInt(resize, this.#pendingResize, 5, 0x20);
        this.#pendingResize = null;
      }
      const before = this.#generation;
      this.#field(out, ":authority", authority);
      for (const [name, value] of fixed) this.#field(out, name, value);
      rest = { generation: this.#generation, authority, bytes: new Uint8Array(out) };
      // A block that inserted entries (or resized the table) is sent once; the next one refers
      // to them by index.
      if (this.#generation === before && resize.length === 0) this.#built.set(fixed, rest);
      else this.#built.delete(fixed);
      return this.#assemble(resize, path, rest.bytes);
    }
    return this.#assemble([], path, rest.bytes);
  }

  /**
   * A table size update if any (allowed only at the start of a block), :method POST, :scheme https,
   * :path as a literal never indexed (0000xxxx, name index 4: it varies per device), then `rest`.
   */
  #assemble(resize: number[], path: string, rest: Uint8Array): Uint8Array {
    // Built byte by byte: this runs once per push, and copying from JS arrays costs more.
    const length: number[] = [];
    putInt(length, path.length, 7, 0);
    const out = new Uint8Array(resize.length + 3 + length.length + path.length + rest.length);
    let at = 0;
    for (let i = 0; i < resize.length; i++) out[at++] = resize[i];
    out[at++] = 0x83;
    out[at++] = 0x87;
    out[at++] = 0x04;
    for (let i = 0; i < length.length; i++) out[at++] = length[i];
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c > 0x7e || c < 0x21) throw new Error(`a :path must be printable ASCII: ${path}`);
      out[at++] = c;
    }
    out.set(rest, at);
    return out;
  }

  #field(out: number[], name: string, value: string): void {
    const key = `${name}\0${value}`;
    const seq = this.#seq.get(key);
    if (seq !== undefined) {
      // Dynamic indexes count from the newest entry, which is 62.
      putInt(out, STATIC_COUNT + this.#inserted - seq, 7, 0x80);
      return;
    }
    const size = encoder.encode(name).length + encoder.encode(value).length + 32;
    const nameIndex = STATIC_NAME.get(name);
    if (size > this.#max) {
      // Too big for the table: a literal without indexing.
      if (nameIndex !== undefined) putInt(out, nameIndex, 4, 0);
      else {
        out.push(0);
        putString(out, name);
      }
      putString(out, value);
      return;
    }
    // Literal with incremental indexing (01xxxxxx).
    if (nameIndex !== undefined) putInt(out, nameIndex, 6, 0x40);
    else {
      out.push(0x40);
      putString(out, name);
    }
    putString(out, value);
    this.#generation++;
    this.#evict(size);
    this.#entries.push([key, size, this.#inserted]);
    this.#seq.set(key, this.#inserted++);
    this.#size += size;
  }

  /** Evicts oldest entries until `room` more bytes fit. */
  #evict(room: number): void {
    while (this.#size + room > this.#max && this.#entries.length) {
      const [key, size] = this.#entries.shift()!;
      this.#seq.delete(key);
      this.#size -= size;
    }
  }
}

/** The response side of one connection. */
export class HpackDecoder {
  /** The dynamic table, newest first. */
  #table: Array<[string, string]> = [];
  #size = 0;
  /** Our SETTINGS_HEADER_TABLE_SIZE (the default; edgepush never announces another). */
  #limit = 4096;
  #max = 4096;

  /** Decodes one complete header block into (name, value) pairs, in order. */
  decode(block: Uint8Array): Array<[string, string]> {
    const fields: Array<[string, string]> = [];
    let at = 0;
    const int = (n: number): number => {
      if (at >= block.length) throw new HpackError("truncated integer");
      const max = (1 << n) - 1;
      let value = block[at++] & max;
      if (value < max) return value;
      let shift = 0;
      while (true) {
        if (at >= block.length) throw new HpackError("truncated integer");
        const b = block[at++];
        value += (b & 127) * 2 ** shift;
        shift += 7;
        if (shift > 28) throw new HpackError("integer too large");
        if ((b & 128) === 0) return value;
      }
    };
    const string = (): string => {
      if (at >= block.length) throw new HpackError("truncated string");
      const coded = (block[at] & 0x80) !== 0;
      const length = int(7);
      const end = at + length;
      if (end > block.length) throw new HpackError("truncated string");
      const text = coded ? huffmanDecode(block, at, end) : octetsToString(block, at, end);
      if (text === null) throw new HpackError("invalid Huffman code or padding");
      at = end;
      return text;
    };
    const entry = (index: number): [string, string] => {
      if (index >= 1 && index <= STATIC_COUNT) return STATIC[index] as [string, string];
      const found = this.#table[index - STATIC_COUNT - 1];
      if (index === 0 || !found) throw new HpackError(`index ${index} out of range`);
      return found;
    };
    while (at < block.length) {
      const b = block[at];
      if (b & 0x80) {
        fields.push(entry(int(7)));
      } else if (b & 0x40) {
        const index = int(6);
        const name = index === 0 ? string() : entry(index)[0];
        const value = string();
        fields.push([name, value]);
        this.#insert(name, value);
      } else if (b & 0x20) {
        const size = int(5);
        if (size > this.#limit) throw new HpackError("table size above the limit");
        this.#max = size;
        this.#evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001).
        const index = int(4);
        const name = index === 0 ? string() : entry(index)[0];
        fields.push([name, string()]);
      }
    }
    return fields;
  }

  #insert(name: string, value: string): void {
    const size = entrySize(name, value);
    if (size > this.#max) {
      this.#table = [];
      this.#size = 0;
      return;
    }
    this.#evict(size);
    this.#table.unshift([name, value]);
    this.#size += size;
  }

  #evict(room: number): void {
    while (this.#size + room > this.#max && this.#table.length) {
      const [name, value] = this.#table.pop()!;
      this.#size -= entrySize(name, value);
    }
  }
}
