/**
 * The RESP2 codec on its own: command encoding (byte lengths of non-ASCII arguments), and the
 * resumable reply parser fed every type, every chunking, and malformed input.
 */
import { assertEquals, assertOk, assertThrows } from "../../support/assert.ts";
import {
  CommandBuffer,
  ProtocolError,
  type Reply,
  RespError,
  RespParser,
} from "../../../lib/redis/resp/codec.ts";
import { encodeCommand, encodeCommands, utf8Length } from "./_resp_reference.ts";
import { mulberry32 } from "../../support/seeded_random.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

/** Replies as plain data: a RespError becomes `{ error: message }`, so equality is exact. */
type Plain = string | number | null | { error: string } | Plain[];
function plain(reply: Reply): Plain {
  if (reply instanceof RespError) return { error: reply.message };
  if (Array.isArray(reply)) return reply.map(plain);
  return reply;
}

/** Parses `input` pushed as the given chunks with one parser; returns every completed reply. */
function parseChunks(chunks: Uint8Array[]): Plain[] {
  const parser = new RespParser();
  const out: Plain[] = [];
  for (const chunk of chunks) out.push(...parser.push(chunk).map(plain));
  assertEquals(parser.pending, 0, "nothing left over once the stream is complete");
  return out;
}

// --- encoding ---------------------------------------------------------------------------------

Deno.test("CommandBuffer writes the bytes of encodeCommand, grows past its capacity and takes turns", () => {
  const random = mulberry32(7);
  const alphabet = [
    "a",
    "Z",
    "0",
    "\r",
    "\n",
    "é",
    "€",
    "😀",
    "\ud800",
    "\udc00",
    "\u0000",
    "\ufeff",
  ];
  const arg = () =>
    Array.from(
      { length: Math.floor(random() * 40) },
      () => alphabet[Math.floor(random() * alphabet.length)],
    ).join("");
  const buffer = new CommandBuffer(32);
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  for (let round = 0; round < 200; round++) {
    const commands = Array.from(
      { length: 1 + Math.floor(random() * 4) },
      () => Array.from({ length: 1 + Math.floor(random() * 6) }, arg),
    );
    for (const command of commands) buffer.write(command);
    assertEquals(buffer.length, encoder.encode(encodeCommands(commands)).length);
    const taken = buffer.take();
    assertEquals(taken, encoder.encode(encodeCommands(commands)));
    assertEquals(buffer.length, 0);
    // What was taken stays intact while the other buffer is filled.
    const copy = taken.slice();
    buffer.write(["SET", "k", "x".repeat(100)]);
    assertEquals(taken, copy);
    assertEquals(decoder.decode(buffer.take()), encodeCommand(["SET", "k", "x".repeat(100)]));
  }
  buffer.write(["PING"]);
  buffer.clear();
  assertEquals(buffer.take().length, 0);
});

Deno.test("encodeCommand: ASCII arguments are a RESP array of bulk strings, byte for byte", () => {
  assertEquals(encodeCommand(["PING"]), "*1\r\n$4\r\nPING\r\n");
  assertEquals(
    encodeCommand(["SET", "key", "value"]),
    "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
  );
  assertEquals(encodeCommand(["SET", "k", ""]), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  assertEquals(encodeCommand([]), "*0\r\n");
  // CR LF inside an argument is data: the length covers it.
  assertEquals(encodeCommand(["ECHO", "a\r\nb"]), "*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n");
  const long = "x".repeat(1000);
  assertEquals(encodeCommand(["ECHO", long]), `*2\r\n$4\r\nECHO\r\n$1000\r\n${long}\r\n`);
});

Deno.test("encodeCommand: non-ASCII arguments carry their UTF-8 byte length, not UTF-16 length", () => {
  const cases: [string, number][] = [
    ["é", 2], // U+00E9: 2 bytes
    ["café", 5],
    ["߿", 2], // U+07FF: last 2-byte code point
    ["ࠀ", 3], // U+0800: first 3-byte code point
    ["€", 3],
    ["日本語", 9],
    ["\uffff", 3],
    ["😀", 4], // a surrogate pair: 2 UTF-16 units, 4 bytes
    ["👍🏽", 8], // emoji + skin tone modifier: two pairs
    ["👨‍👩‍👧", 18], // ZWJ sequence: 3 pairs + 2 × U+200D
    ["\ud800", 3], // lone high surrogate → U+FFFD (3 bytes), as TextEncoder writes
    ["\udc00", 3], // lone low surrogate
    ["\ud800a", 4], // high surrogate followed by a non-surrogate
    ["\udc00\ud800", 6], // reversed pair: two lone surrogates
    ["a\ud83d", 4], // high surrogate as the last unit
  ];
  for (const [arg, expected] of cases) {
    assertEquals(utf8Length(arg), expected, `utf8Length(${JSON.stringify(arg)})`);
    assertEquals(bytes(arg).length, expected, `TextEncoder agrees for ${JSON.stringify(arg)}`);
    const encoded = encodeCommand(["SET", "k", arg]);
    assertEquals(encoded, `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${expected}\r\n${arg}\r\n`);
    // The announced length is exactly the bytes between the header and the final CRLF.
    const wire = bytes(encoded);
    const header = bytes(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${expected}\r\n`);
    assertEquals(wire.length, header.length + expected + 2);
    assertEquals(Array.from(wire.subarray(wire.length - 2)), [13, 10]);
  }
});

Deno.test("utf8Length equals TextEncoder's byte count for fixed and random strings (surrogates included)", () => {
  const fixed = [
    "",
    "a",
    "\u0000",
    "\u007f",
    "\u0080",
    "\u07ff",
    "\u0800",
    "\ud7ff",
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
    "\ue000",
    "\ufeff",
    "\ufffd",
    "\uffff",
    "\ud800\udc00",
    "\udbff\udfff",
    "\ud800\ud800",
    "\ud800\ud800\udc00",
    "\udc00\ud800\udc00\udc00",
    "mixed: é 日 😀 \ud800 end",
  ];
  for (const s of fixed) {
    assertEquals(utf8Length(s), bytes(s).length, `utf8Length(${JSON.stringify(s)})`);
  }
  // Random strings drawn from every UTF-16 range, surrogates (paired or not) over-represented.
  const random = mulberry32(0xed9e);
  const ranges: [number, number][] = [
    [0x00, 0x7f],
    [0x80, 0x7ff],
    [0x800, 0xd7ff],
    [0xd800, 0xdbff],
    [0xdc00, 0xdfff],
    [0xe000, 0xffff],
  ];
  for (let n = 0; n < 5_000; n++) {
    const length = Math.floor(random() * 24);
    let s = "";
    for (let i = 0; i < length; i++) {
      const [lo, hi] = ranges[Math.floor(random() * ranges.length)];
      s += String.fromCharCode(lo + Math.floor(random() * (hi - lo + 1)));
    }
    const expected = bytes(s).length;
    assertEquals(
      utf8Length(s),
      expected,
      `utf8Length of ${JSON.stringify(s)} (units ${
        Array.from(s, (c) => c.charCodeAt(0).toString(16)).join(" ")
      })`,
    );
    assertEquals(encodeCommand([s]), `*1\r\n$${expected}\r\n${s}\r\n`);
  }
});

Deno.test("encodeCommands concatenates each command's encoding", () => {
  const commands = [["MULTI"], ["SET", "é", "😀"], ["EXEC"]];
  assertEquals(encodeCommands(commands), commands.map(encodeCommand).join(""));
  assertEquals(
    encodeCommands(commands),
    "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$2\r\né\r\n$4\r\n😀\r\n*1\r\n$4\r\nEXEC\r\n",
  );
  assertEquals(encodeCommands([]), "");
});

// --- parsing: types -----------------------------------------------------------------------------

Deno.test("RespParser: each reply type", () => {
  const one = (wire: string) => {
    const replies = new RespParser().push(bytes(wire));
    assertEquals(replies.length, 1, `one reply from ${JSON.stringify(wire)}`);
    return replies[0];
  };
  assertEquals(one("+OK\r\n"), "OK");
  assertEquals(one("+\r\n"), "");
  assertEquals(one(":0\r\n"), 0);
  assertEquals(one(":42\r\n"), 42);
  assertEquals(one(":-7\r\n"), -7);
  assertEquals(one(":-9007199254740991\r\n"), -9007199254740991);
  assertEquals(one("$5\r\nhello\r\n"), "hello");
  assertEquals(one("$0\r\n\r\n"), "");
  assertEquals(one("$-1\r\n"), null);
  assertEquals(one("*-1\r\n"), null);
  assertEquals(one("*0\r\n"), []);
  assertEquals(one("$8\r\na\r\nb\r\ncd\r\n"), "a\r\nb\r\ncd", "CRLF inside a bulk string is data");
  assertEquals(one("$3\r\na\rb\r\n"), "a\rb", "a bare CR inside a bulk string is data");
  assertEquals(one("$2\r\né\r\n"), "é");
  assertEquals(one("$4\r\n😀\r\n"), "😀");
  assertEquals(one("$9\r\n日本語\r\n"), "日本語");
  // A long bulk string (past the hand-built ASCII path), ASCII and UTF-8.
  const longAscii = "abcdefghij".repeat(20);
  assertEquals(one(`$200\r\n${longAscii}\r\n`), longAscii);
  const longUtf8 = "é日😀".repeat(30); // 9 bytes × 30
  assertEquals(one(`$${bytes(longUtf8).length}\r\n${longUtf8}\r\n`), longUtf8);
  // Exactly at and around the 64-byte boundary.
  for (const n of [63, 64, 65]) {
    const s = "z".repeat(n - 2) + "é";
    assertEquals(one(`$${bytes(s).length}\r\n${s}\r\n`), s);
    const a = "q".repeat(n);
    assertEquals(one(`$${n}\r\n${a}\r\n`), a);
  }
  // Invalid UTF-8 is replaced, not thrown.
  const invalid = new RespParser().push(
    Uint8Array.of(...bytes("$2\r\n"), 0xff, 0x41, ...bytes("\r\n")),
  );
  assertEquals(invalid, ["\ufffdA"]);
});

Deno.test("RespParser: an error reply is a RespError value, not thrown", () => {
  const [reply] = new RespParser().push(bytes("-WRONGTYPE Operation against a key\r\n"));
  assertOk(reply instanceof RespError);
  assertOk(reply instanceof Error);
  assertEquals(reply.message, "WRONGTYPE Operation against a key");
  assertEquals(reply.name, "RespError");
  const [utf8Error] = new RespParser().push(bytes("-ERR clé inconnue\r\n"));
  assertEquals(plain(utf8Error), { error: "ERR clé inconnue" });
});

Deno.test("RespParser: arrays, nested arrays, nil and errors inside arrays", () => {
  const wire = "*5\r\n" +
    ":1\r\n" +
    "*3\r\n+a\r\n*0\r\n*2\r\n$-1\r\n*-1\r\n" +
    "-ERR inner\r\n" +
    "$0\r\n\r\n" +
    "*1\r\n*1\r\n*1\r\n:-3\r\n";
  const replies = new RespParser().push(bytes(wire));
  assertEquals(replies.map(plain), [
    [1, ["a", [], [null, null]], { error: "ERR inner" }, "", [[[-3]]]],
  ]);
  // An HGETALL-style flat array.
  assertEquals(
    new RespParser().push(bytes("*4\r\n$1\r\nf\r\n$1\r\nv\r\n$2\r\ng2\r\n$2\r\nw2\r\n")),
    [["f", "v", "g2", "w2"]],
  );
  // Several top-level replies in one chunk come back in order.
  assertEquals(
    new RespParser().push(bytes("+OK\r\n:2\r\n*0\r\n$-1\r\n")).map(plain),
    ["OK", 2, [], null],
  );
});

Deno.test("RespParser: a value starting with U+FEFF (a BOM) is kept, as Redis stores it", () => {
  // Redis stores bytes; a value whose first character is U+FEFF must come back with it
  // (STRLEN counts its 3 bytes). ioredis and the Upstash REST API both keep it.
  const value = "\ufeffbom";
  const wire = `$${bytes(value).length}\r\n${value}\r\n`;
  assertEquals(new RespParser().push(bytes(wire)), [value]);
  const long = "\ufeff" + "x".repeat(100);
  assertEquals(new RespParser().push(bytes(`$${bytes(long).length}\r\n${long}\r\n`)), [long]);
  // Inside an array too (an LRANGE / HGETALL element).
  assertEquals(new RespParser().push(bytes(`*2\r\n${wire}+OK\r\n`)), [[value, "OK"]]);
});

// --- parsing: chunking --------------------------------------------------------------------------

/** Several replies of every kind, non-ASCII and CRLF-containing bulks, a nested array. */
const STREAM = bytes(
  "+OK\r\n" +
    ":-12345\r\n" +
    "$-1\r\n" +
    "$0\r\n\r\n" +
    "$7\r\ncafé\r\n\r\n" +
    "-ERR bad thing\r\n" +
    "*-1\r\n" +
    "*0\r\n" +
    "$4\r\n😀\r\n" +
    "*3\r\n$1\r\na\r\n*2\r\n:1\r\n$6\r\n日本\r\n*0\r\n" +
    `$70\r\n${"0123456789".repeat(7)}\r\n` +
    "+PONG\r\n",
);
const STREAM_REPLIES: Plain[] = [
  "OK",
  -12345,
  null,
  "",
  "café\r\n",
  { error: "ERR bad thing" },
  null,
  [],
  "😀",
  ["a", [1, "日本"], []],
  "0123456789".repeat(7),
  "PONG",
];

Deno.test("RespParser: a stream in one chunk", () => {
  assertEquals(parseChunks([STREAM]), STREAM_REPLIES);
});

Deno.test("RespParser: the stream fed byte by byte gives the same replies", () => {
  const parser = new RespParser();
  const out: Plain[] = [];
  for (let i = 0; i < STREAM.length; i++) {
    const done = parser.push(STREAM.slice(i, i + 1));
    out.push(...done.map(plain));
    // Until the very last byte, the final reply is unfinished.
    if (i < STREAM.length - 1) assertOk(out.length < STREAM_REPLIES.length);
  }
  assertEquals(out, STREAM_REPLIES);
  assertEquals(parser.pending, 0);
});

Deno.test("RespParser: the stream split in two at every byte boundary gives the same replies", () => {
  for (let cut = 0; cut <= STREAM.length; cut++) {
    assertEquals(
      parseChunks([STREAM.slice(0, cut), STREAM.slice(cut)]),
      STREAM_REPLIES,
      `split at byte ${cut}`,
    );
  }
});

Deno.test("RespParser: the stream split in three at every pair of byte boundaries gives the same replies", () => {
  for (let a = 0; a <= STREAM.length; a++) {
    for (let b = a; b <= STREAM.length; b++) {
      const got = parseChunks([STREAM.slice(0, a), STREAM.slice(a, b), STREAM.slice(b)]);
      if (JSON.stringify(got) !== JSON.stringify(STREAM_REPLIES)) {
        assertEquals(got, STREAM_REPLIES, `split at bytes ${a} and ${b}`);
      }
    }
  }
});

Deno.test("RespParser: random chunkings of a large nested reply", () => {
  const items: string[] = [];
  for (let i = 0; i < 2_000; i++) items.push(i % 7 === 0 ? `é${i}😀` : `item:${i}`);
  let wire = `*2\r\n*${items.length}\r\n`;
  for (const item of items) wire += `$${bytes(item).length}\r\n${item}\r\n`;
  const big = "ü".repeat(50_000);
  wire += `$${bytes(big).length}\r\n${big}\r\n+after\r\n`;
  const all = bytes(wire);
  const random = mulberry32(7);
  for (let round = 0; round < 20; round++) {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < all.length;) {
      const size = 1 + Math.floor(random() * (round < 10 ? 17 : 70_000));
      chunks.push(all.slice(at, at + size));
      at += size;
    }
    assertEquals(parseChunks(chunks), [[items, big], "after"], `round ${round}`);
  }
});

Deno.test("RespParser: the stream read through one reused buffer, as a socket reads it, gives the same replies", () => {
  // The parser must not keep the caller's bytes once push returns: the next read overwrites them.
  const random = mulberry32(11);
  for (let round = 0; round < 50; round++) {
    const parser = new RespParser();
    const buffer = new Uint8Array(64);
    const out: Plain[] = [];
    for (let at = 0; at < STREAM.length;) {
      const n = Math.min(1 + Math.floor(random() * buffer.length), STREAM.length - at);
      buffer.fill(0x2a);
      buffer.set(STREAM.subarray(at, at + n));
      out.push(...parser.push(buffer.subarray(0, n)).map(plain));
      at += n;
    }
    assertEquals(out, STREAM_REPLIES, `round ${round}`);
  }
});

Deno.test("RespParser: pending counts unconsumed bytes; reset forgets a half-read reply", () => {
  const parser = new RespParser();
  assertEquals(parser.pending, 0);
  assertEquals(parser.push(bytes("$5\r\nhel")), []);
  assertEquals(parser.pending, 7);
  assertEquals(parser.push(bytes("lo\r\n+O")), ["hello"]);
  assertEquals(parser.pending, 2);
  // An array half-read, then reset: the next reply stands alone.
  assertEquals(parser.push(bytes("K\r\n*3\r\n:1\r\n:2")), ["OK"]);
  parser.reset();
  assertEquals(parser.pending, 0);
  assertEquals(parser.push(bytes(":9\r\n")), [9]);
  assertEquals(parser.push(bytes("*1\r\n")), []);
  assertEquals(parser.push(bytes("+x\r\n")), [["x"]]);
});

// --- parsing: malformed input -------------------------------------------------------------------

Deno.test("RespParser: malformed input throws ProtocolError", () => {
  const bad: [string, string][] = [
    ["unknown type byte", "!oops\r\n"],
    ["RESP3 map type", "%1\r\n+a\r\n+b\r\n"],
    ["RESP3 null", "_\r\n"],
    ["plain text", "HTTP/1.1 400 Bad Request\r\n"],
    ["CR without LF after a simple string", "+OK\rX\r\n"],
    ["CR without LF after an integer", ":1\r:2\r\n"],
    ["CR without LF after a bulk length", "$3\rabc\r\n"],
    ["letters in an integer", ":12a\r\n"],
    ["empty integer", ":\r\n"],
    ["sign only", ":-\r\n"],
    ["plus sign", ":+1\r\n"],
    ["space in an integer", ": 1\r\n"],
    ["bad bulk length", "$x\r\nabc\r\n"],
    ["negative bulk length other than -1", "$-2\r\n"],
    ["negative array length other than -1", "*-3\r\n"],
    ["bad array length", "*two\r\n"],
    ["bulk longer than announced", "$2\r\nabc\r\n"],
    ["bad type byte inside an array", "*2\r\n:1\r\n?\r\n"],
  ];
  for (const [what, wire] of bad) {
    const all = bytes(wire);
    assertThrows(() => new RespParser().push(all), ProtocolError);
    // The same, byte by byte: detected once the offending bytes have arrived.
    const parser = new RespParser();
    let threw = false;
    try {
      for (let i = 0; i < all.length; i++) parser.push(all.slice(i, i + 1));
    } catch (error) {
      assertOk(error instanceof ProtocolError, `${what}: got ${error}`);
      threw = true;
    }
    assertOk(threw, `${what}: fed byte by byte, it should throw`);
  }
});

Deno.test("RespParser: a bulk string not followed by CR LF throws ProtocolError", () => {
  // The two bytes after a bulk's payload must be CR LF; "\rX" is not a terminator.
  assertThrows(() => new RespParser().push(bytes("$1\r\na\rX+OK\r\n")), ProtocolError);
  assertThrows(() => new RespParser().push(bytes("$1\r\naXY")), ProtocolError);
});
