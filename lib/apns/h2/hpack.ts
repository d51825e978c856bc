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
import huffman from "hpack.js/lib/hpack/huffman.js";

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
const latin = new TextDecoder("latin1");

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

  /** Applies the server's SETTINGS_HEADER_TABLE_SIZE (the encoder uses at most 4096). */
  setMaxSize(size: number): void {
    const max = Math.min(4096, size);
    if (max === this.#max) return;
    this.#max = max;
    this.#evict(0);
    this.#pendingResize = max;
  }

  /**
   * The header block of one request: the pseudo-headers, `path`, then `fixed` (indexed in the
   * dynamic table once, referred to by index after). Blocks must be sent in the order built.
   */
  block(method: string, authority: string, path: string, fixed: HeaderList): Uint8Array {
    const out: number[] = [];
    if (this.#pendingResize !== null) {
      putInt(out, this.#pendingResize, 5, 0x20);
      this.#pendingResize = null;
    }
    out.push(method === "POST" ? 0x83 : 0x82, 0x87); // :method, :scheme https
    this.#field(out, ":authority", authority);
    // :path varies per device: a literal never indexed in the table (0000xxxx, name index 4).
    putInt(out, 4, 4, 0);
    putString(out, path);
    for (const [name, value] of fixed) this.#field(out, name, value);
    return new Uint8Array(out);
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

/** A node of the Huffman decoding tree: children at 2n and 2n+1, a symbol as -(sym + 1). */
const TREE = (() => {
  const tree = new Int32Array(2 * 600).fill(0);
  let nodes = 1;
  (huffman.encode as Array<[number, number]>).forEach(([bits, code], symbol) => {
    let node = 0;
    for (let i = bits - 1; i >= 0; i--) {
      const slot = 2 * node + ((code / 2 ** i) & 1);
      if (i === 0) tree[slot] = -(symbol + 1);
      else {
        if (tree[slot] === 0) tree[slot] = nodes++;
        node = tree[slot];
      }
    }
  });
  return tree;
})();

function huffmanDecode(bytes: Uint8Array, start: number, end: number): string {
  const out: number[] = [];
  let node = 0;
  let depth = 0;
  let ones = true;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const next = TREE[2 * node + bit];
      depth++;
      ones &&= bit === 1;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === 256) throw new HpackError("EOS in a Huffman-coded string");
        out.push(symbol);
        node = 0;
        depth = 0;
        ones = true;
      } else if (next === 0) {
        throw new HpackError("invalid Huffman code");
      } else node = next;
    }
  }
  // Padding: fewer than 8 bits, all ones (a prefix of EOS).
  if (depth > 7 || !ones) throw new HpackError("invalid Huffman padding");
  return latin.decode(new Uint8Array(out));
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
      const text = coded ? huffmanDecode(block, at, end) : latin.decode(block.subarray(at, end));
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
