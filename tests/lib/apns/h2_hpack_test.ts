/**
 * edgepush's HPACK (lib/apns/h2/hpack.ts) against an independent implementation, hpack.js: what
 * one writes, the other must read, over many blocks and through dynamic-table evictions.
 */
import hpack from "hpack.js";
import hpackHuffman from "hpack.js/lib/hpack/huffman.js";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { HpackDecoder, HpackEncoder, HpackError } from "../../../lib/apns/h2/hpack.ts";

type Field = [string, string];

/** A deterministic generator, so a failure replays. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function reference(size: number) {
  const compressor = hpack.compressor.create({ table: { maxSize: size } });
  const decompressor = hpack.decompressor.create({ table: { maxSize: size } });
  return {
    encode(fields: Field[], huffman: boolean): Uint8Array {
      compressor.write(fields.map(([name, value]) => ({ name, value, huffman })));
      const chunks: Uint8Array[] = [];
      let chunk;
      while ((chunk = compressor.read())) chunks.push(new Uint8Array(chunk));
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      return out;
    },
    decode(block: Uint8Array): Field[] {
      decompressor.write(block);
      decompressor.execute();
      const fields: Field[] = [];
      let field;
      while ((field = decompressor.read())) fields.push([field.name, field.value]);
      return fields;
    },
  };
}

Deno.test("HPACK decoder reads what hpack.js writes: Huffman or not, indexed, through evictions", () => {
  const random = prng(19);
  const ref = reference(4096);
  const decoder = new HpackDecoder();
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  const statuses = ["200", "400", "403", "410", "429", "500", "503"];
  for (let i = 0; i < 2_000; i++) {
    const fields: Field[] = [[":status", pick(statuses)]];
    fields.push(["apns-id", crypto.randomUUID().toUpperCase()]);
    if (random() < 0.3) fields.push(["apns-unique-id", crypto.randomUUID()]);
    if (random() < 0.2) fields.push(["retry-after", String(Math.floor(random() * 120))]);
    if (random() < 0.1) fields.push([`x-${Math.floor(random() * 50)}`, "v".repeat(random() * 300)]);
    const block = ref.encode(fields, random() < 0.7);
    assertEquals(decoder.decode(block), fields, `block ${i}`);
  }
});

Deno.test("HPACK encoder writes what hpack.js reads, and sends a message's fixed headers once", () => {
  const random = prng(7);
  const encoder = new HpackEncoder();
  const ref = reference(4096);
  const tokens = Array.from(
    { length: 40 },
    (_, i) => `bearer ${String(i).padStart(3, "0")}${"j".repeat(170)}`,
  );
  let first = 0;
  for (let i = 0; i < 3_000; i++) {
    // A new provider token now and then: enough of them to evict earlier entries.
    const fixed: Field[] = [
      ["apns-topic", "com.example.app"],
      ["apns-push-type", random() < 0.5 ? "alert" : "background"],
      ["authorization", tokens[Math.floor(i / 75)]],
    ];
    if (random() < 0.2) fixed.push(["apns-collapse-id", `c${Math.floor(random() * 5)}`]);
    const path = `/3/device/${crypto.randomUUID().replaceAll("-", "")}`;
    const block = encoder.block("api.push.apple.com", path, fixed);
    if (i % 75 === 0) first = Math.max(first, block.length);
    assertEquals(ref.decode(block), [
      [":method", "POST"],
      [":scheme", "https"],
      [":path", path],
      [":authority", "api.push.apple.com"],
      ...fixed,
    ], `block ${i}`);
  }
  assertOk(first > 200, `a first block carries the token (${first} bytes)`);
  // The same message again: the pseudo-headers, the path, and one byte per indexed header.
  const fixed: Field[] = [["apns-topic", "com.example.other"], ["authorization", tokens[0]]];
  const path = `/3/device/${"ab".repeat(32)}`;
  const once = encoder.block("api.push.apple.com", path, fixed);
  const again = encoder.block("api.push.apple.com", path, fixed);
  assertEquals(ref.decode(once).length, 6);
  assertEquals(ref.decode(again).length, 6);
  assertEquals(again.length, 2 + 1 + (2 + path.length) + 2, `${again.length} bytes`);
  assertOk(once.length > 200);
});

Deno.test("HPACK encoder follows a smaller table the server asks for", () => {
  const encoder = new HpackEncoder();
  const ref = reference(4096);
  const fixed: Field[] = [["apns-topic", "com.example.app"], [
    "authorization",
    `bearer ${"t".repeat(170)}`,
  ]];
  ref.decode(encoder.block("h", "/3/device/a", fixed));
  encoder.setMaxSize(100); // the token (~220 bytes with overhead) no longer fits
  for (const path of ["/3/device/b", "/3/device/c"]) {
    assertEquals(ref.decode(encoder.block("h", path, fixed)), [
      [":method", "POST"],
      [":scheme", "https"],
      [":path", path],
      [":authority", "h"],
      ...fixed,
    ]);
  }
});

Deno.test("HPACK decoder refuses malformed blocks with HpackError", () => {
  const cases: Array<[string, number[]]> = [
    ["index 0", [0x80]],
    ["an index past the tables", [0xff, 0x10]],
    ["a truncated integer", [0xff]],
    ["an integer too large", [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
    ["a truncated string", [0x40, 0x05, 0x61]],
    ["Huffman padding that is not all ones", [0x40, 0x81, 0x00, 0x81, 0x00]],
    ["a table size above the limit", [0x3f, 0xe2, 0x1f]],
  ];
  for (const [what, bytes] of cases) {
    let error: unknown;
    try {
      new HpackDecoder().decode(new Uint8Array(bytes));
    } catch (e) {
      error = e;
    }
    assertOk(error instanceof HpackError, `${what}: ${error}`);
  }
});

Deno.test("HPACK decoder reads a header's octets one character per byte, Huffman-coded or raw", () => {
  // Isomorphic decoding, as Node's http2 and fetch do: byte n is U+00nn, 0x80–0x9F included (a
  // "latin1" TextDecoder is windows-1252 and would read 0x80 as "€").
  const every = Uint8Array.from({ length: 256 }, (_, i) => i);
  const long = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) % 256);
  const int = (value: number, flags: number): number[] => {
    if (value < 127) return [flags | value];
    const out = [flags | 127];
    for (value -= 127; value >= 128; value >>= 7) out.push((value & 127) | 128);
    return [...out, value];
  };
  const huffmanCode = (bytes: Uint8Array): number[] => {
    const out: number[] = [];
    let acc = 0n, bits = 0n;
    for (const b of bytes) {
      const [length, code] = hpackHuffman.encode[b];
      acc = (acc << BigInt(length)) | BigInt(code);
      bits += BigInt(length);
      while (bits >= 8n) {
        bits -= 8n;
        out.push(Number((acc >> bits) & 255n));
      }
    }
    if (bits > 0n) out.push(Number(((acc << (8n - bits)) | ((1n << (8n - bits)) - 1n)) & 255n));
    return out;
  };
  // Literal header field without indexing, new name "x-octets".
  const literal = (value: Uint8Array, huffman: boolean) => {
    const coded = huffman ? huffmanCode(value) : [...value];
    return new Uint8Array([
      0x00,
      ...int(8, 0),
      ...new TextEncoder().encode("x-octets"),
      ...int(coded.length, huffman ? 0x80 : 0),
      ...coded,
    ]);
  };
  const decoder = new HpackDecoder();
  for (const bytes of [every, long]) {
    for (const huffman of [false, true]) {
      const [[name, value]] = decoder.decode(literal(bytes, huffman));
      assertEquals(name, "x-octets");
      assertEquals(value.length, bytes.length, `huffman ${huffman}`);
      assertEquals(
        Array.from(value, (c) => c.charCodeAt(0)),
        Array.from(bytes),
        `huffman ${huffman}, ${bytes.length} bytes`,
      );
    }
  }
});
