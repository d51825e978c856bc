/**
 * The RESP connection against real redis-server processes, one per test on a free port with its
 * own temp dir (never the shared Redis on 6379): replies of every type, byte-exact UTF-8, large
 * replies, heavy pipelining, AUTH and SELECT from the URL, losing and regaining the server,
 * close(), and the TCP requester's `Unavailable` on top of it.
 */
import type { UpstashRequest } from "@upstash/redis";
import { createTestCa } from "../../support/test_ca.ts";
import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { waitFor } from "../../support/redis_server.ts";
import {
  createTcpRequester,
  freePort,
  type RedisServer,
  startRedisServer,
} from "../../../lib/redis/mod.ts";
import { parseRedisUrl, RespConnection } from "../../../lib/redis/resp/connection.ts";
import { type Reply, RespError } from "../../../lib/redis/resp/codec.ts";
import { Unavailable } from "../../../lib/errors.ts";

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** Replies as plain data: a RespError becomes `{ error: message }`, so equality is exact. */
type Plain = string | number | null | { error: string } | Plain[];
function plain(reply: Reply): Plain {
  if (reply instanceof RespError) return { error: reply.message };
  if (Array.isArray(reply)) return reply.map(plain);
  return reply;
}

/** `promise`, or a rejection naming `what` when it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The rejection of `promise` (failing the test if it resolves instead). */
async function rejection(promise: Promise<unknown>, what: string): Promise<Error> {
  try {
    const value = await promise;
    throw new Error(`${what}: expected a rejection, got ${JSON.stringify(value)}`);
  } catch (error) {
    assertOk(error instanceof Error, `${what}: rejected with a non-Error ${error}`);
    return error;
  }
}

/** A private redis-server (startRedisServer) in a fresh temp dir; stopped and removed after. */
async function withServer(
  fn: (server: RedisServer, restart: () => Promise<RedisServer>) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-resp-" });
  let server: RedisServer | undefined;
  try {
    server = await startRedisServer({ dataDir, appendOnly: false });
    const port = server.port;
    await fn(server, async () => {
      server = await startRedisServer({ dataDir, port, appendOnly: false });
      return server;
    });
  } finally {
    await server?.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/** A private redis-server with extra arguments (`--requirepass`, a TLS port): `fn` gets its port. */
async function withCustomServer(
  extraArgs: string[],
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-resp-auth-" });
  const server = await startRedisServer({ dataDir, appendOnly: false, extraArgs });
  try {
    await fn(server.port);
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/** A field of INFO, as a number. */
async function info(conn: RespConnection, section: string, field: string): Promise<number> {
  const text = await conn.send(["INFO", section]);
  assertEquals(typeof text, "string");
  const match = new RegExp(`^${field}:(\\d+)`, "m").exec(text as string);
  assertOk(match, `INFO ${section} has ${field}`);
  return Number(match[1]);
}

// --- URL parsing ----------------------------------------------------------------------------

Deno.test("parseRedisUrl: host, port, TLS, credentials and db", () => {
  assertEquals(parseRedisUrl("redis://127.0.0.1:6400"), {
    hostname: "127.0.0.1",
    port: 6400,
    tls: false,
    username: "",
    password: "",
    db: 0,
  });
  assertEquals(parseRedisUrl("rediss://user:p%40ss%3Aw%2Frd@example.com/7"), {
    hostname: "example.com",
    port: 6379,
    tls: true,
    username: "user",
    password: "p@ss:w/rd",
    db: 7,
  });
  assertEquals(parseRedisUrl("redis://:secret@[::1]:7000/").hostname, "::1");
  assertEquals(parseRedisUrl("redis://:secret@[::1]:7000/").password, "secret");
  let threw = 0;
  for (const bad of ["http://localhost:6379", "redis://localhost/abc", "redis://localhost/1/2"]) {
    try {
      parseRedisUrl(bad);
    } catch {
      threw++;
    }
  }
  assertEquals(threw, 3);
});

// --- commands and replies ---------------------------------------------------------------------

Deno.test("RespConnection: basic commands and every reply type", async () => {
  await withServer(async (server) => {
    const c = new RespConnection(server.url);
    try {
      assertEquals(c.ready, false, "nothing is dialled before the first command");
      assertEquals(await c.send(["PING"]), "PONG");
      assertEquals(c.ready, true);
      assertEquals(await c.send(["SET", "k", "v1"]), "OK");
      assertEquals(await c.send(["GET", "k"]), "v1");
      assertEquals(await c.send(["GET", "missing"]), null);
      assertEquals(await c.send(["INCR", "n"]), 1);
      assertEquals(await c.send(["INCRBY", "n", "-43"]), -42);
      assertEquals(await c.send(["SET", "big", "9007199254740990"]), "OK");
      assertEquals(await c.send(["INCR", "big"]), 9007199254740991);
      assertEquals(await c.send(["HSET", "h", "f1", "a", "f2", "", "f3", "c"]), 3);
      assertEquals(await c.send(["HGETALL", "h"]), ["f1", "a", "f2", "", "f3", "c"]);
      assertEquals(await c.send(["HGETALL", "nohash"]), []);
      assertEquals(await c.send(["HMGET", "h", "f1", "nope", "f3"]), ["a", null, "c"]);
      assertEquals(await c.send(["LRANGE", "nolist", "0", "-1"]), []);
      // A nil array: BLPOP timing out on an empty list.
      assertEquals(await c.send(["BLPOP", "nolist", "0.01"]), null);
      // Nested arrays.
      assertEquals(await c.send(["EVAL", "return {1, {'a', {2}}, {}}", "0"]), [1, ["a", [2]], []]);
      assertEquals(await c.send(["ECHO", "a\r\nb\r\n"]), "a\r\nb\r\n");
      // An error reply resolves as a RespError value, and the connection carries on.
      const wrongType = await c.send(["HGET", "k", "f"]);
      assertOk(wrongType instanceof RespError, `got ${JSON.stringify(wrongType)}`);
      assertOk(wrongType.message.startsWith("WRONGTYPE"), wrongType.message);
      const unknown = await c.send(["NOSUCHCOMMAND", "x"]);
      assertOk(unknown instanceof RespError);
      assertOk(unknown.message.startsWith("ERR unknown command"), unknown.message);
      assertEquals(await c.send(["GET", "k"]), "v1");
      assertEquals(c.ready, true);
    } finally {
      await c.close();
    }
  });
});

const UNICODE_VALUES = [
  "é",
  "café au lait",
  "日本語のテキスト",
  "😀",
  "👍🏽 ok 👨‍👩‍👧",
  "mixed é 日 😀 \u0000 nul and \r\n crlf",
  "\u07ff\u0800\uffff",
  "𝄞".repeat(40), // 160 bytes: past the parser's short-string path
  "é".repeat(33), // 66 bytes, 33 UTF-16 units
  "x".repeat(63) + "é", // the 64/65-byte boundary with a 2-byte character last
];

Deno.test("RespConnection: unicode values and keys round trip byte-exactly", async () => {
  await withServer(async (server) => {
    const c = new RespConnection(server.url);
    try {
      for (const [i, value] of UNICODE_VALUES.entries()) {
        const key = `clé:${i}:😀`;
        assertEquals(await c.send(["SET", key, value]), "OK");
        assertEquals(await c.send(["STRLEN", key]), utf8Bytes(value), `STRLEN of ${value}`);
        assertEquals(await c.send(["GET", key]), value);
        // The bytes Redis holds, one by one (GETRANGE of the last byte, and a Lua byte dump).
        const dump = await c.send([
          "EVAL",
          "local s = redis.call('GET', KEYS[1]) local t = {} " +
          "for i = 1, #s do t[i] = s:byte(i) end return t",
          "1",
          key,
        ]);
        assertEquals(dump, Array.from(new TextEncoder().encode(value)), `bytes of ${value}`);
        assertEquals(await c.send(["EXISTS", key]), 1);
      }
      // Arguments next to each other in one command keep their boundaries.
      assertEquals(await c.send(["RPUSH", "ul", ...UNICODE_VALUES]), UNICODE_VALUES.length);
      assertEquals(await c.send(["LRANGE", "ul", "0", "-1"]), UNICODE_VALUES);
      // A lone surrogate travels as U+FFFD (3 bytes), as TextEncoder writes it.
      assertEquals(await c.send(["SET", "lone", "a\ud800b"]), "OK");
      assertEquals(await c.send(["STRLEN", "lone"]), 5);
      assertEquals(await c.send(["GET", "lone"]), "a\ufffdb");
      // …and it does not throw off the lengths of the next arguments or commands.
      assertEquals(await c.send(["MSET", "s1", "\udc00", "s2", "é"]), "OK");
      assertEquals(await c.send(["MGET", "s1", "s2"]), ["\ufffd", "é"]);
    } finally {
      await c.close();
    }
  });
});

Deno.test("RespConnection: a value starting with U+FEFF (BOM) round trips", async () => {
  await withServer(async (server) => {
    const c = new RespConnection(server.url);
    try {
      const value = "\ufeffstarts with a byte order mark";
      assertEquals(await c.send(["SET", "bom", value]), "OK");
      assertEquals(await c.send(["STRLEN", "bom"]), utf8Bytes(value));
      assertEquals(await c.send(["GET", "bom"]), value);
    } finally {
      await c.close();
    }
  });
});

Deno.test("RespConnection: large replies (a 2 MB value, LRANGE of 50k items) arrive intact", async () => {
  await withServer(async (server) => {
    const c = new RespConnection(server.url);
    try {
      const unit = "0123456789abcdefé日😀\r\n"; // 30 bytes: ASCII, 2-, 3- and 4-byte characters
      const big = unit.repeat(Math.ceil((2 * 1024 * 1024) / utf8Bytes(unit)));
      assertOk(utf8Bytes(big) >= 2 * 1024 * 1024);
      assertEquals(await c.send(["SET", "big", big]), "OK");
      assertEquals(await c.send(["STRLEN", "big"]), utf8Bytes(big));
      const got = await within(c.send(["GET", "big"]), 30_000, "GET big");
      assertOk(got === big, "the 2 MB value comes back identical");
      // Several large replies back to back keep their boundaries.
      const many = await c.sendAll([
        ["GET", "big"],
        ["PING"],
        ["GET", "big"],
        ["STRLEN", "big"],
        ["GET", "big"],
      ]);
      assertEquals(many.length, 5);
      assertOk(many[0] === big && many[2] === big && many[4] === big);
      assertEquals(many[1], "PONG");
      assertEquals(many[3], utf8Bytes(big));

      const items: string[] = [];
      for (let i = 0; i < 50_000; i++) items.push(i % 10 === 0 ? `é-${i}-😀` : `item-${i}`);
      const pushes: string[][] = [];
      for (let i = 0; i < items.length; i += 1_000) {
        pushes.push(["RPUSH", "list", ...items.slice(i, i + 1_000)]);
      }
      const counts = await c.sendAll(pushes);
      assertEquals(counts[counts.length - 1], 50_000);
      const list = await within(c.send(["LRANGE", "list", "0", "-1"]), 30_000, "LRANGE");
      assertOk(Array.isArray(list));
      assertEquals(list.length, 50_000);
      assertEquals(list, items);
      assertEquals(await c.send(["LLEN", "list"]), 50_000);
    } finally {
      await c.close();
    }
  });
});

Deno.test("RespConnection: 10k concurrent sends resolve in order with the right values", async () => {
  await withServer(async (server) => {
    const c = new RespConnection(server.url);
    try {
      // Issued before the connection opens: they wait, then all leave at once.
      const order: number[] = [];
      const first = Array.from(
        { length: 10_000 },
        (_, i) =>
          c.send(["INCR", "counter"]).then((value) => {
            order.push(i);
            return value;
          }),
      );
      const values = await within(Promise.all(first), 30_000, "the first 10k sends");
      assertEquals(values, Array.from({ length: 10_000 }, (_, i) => i + 1));
      assertEquals(order, Array.from({ length: 10_000 }, (_, i) => i), "settled in issue order");

      // Issued on the open connection, of mixed kinds.
      const second: Promise<Reply>[] = [];
      for (let i = 0; i < 10_000; i++) {
        if (i % 3 === 0) second.push(c.send(["SET", `k:${i}`, `v:${i}:é`]));
        else if (i % 3 === 1) second.push(c.send(["GET", `k:${i - 1}`]));
        else second.push(c.send(["HGET", `k:${i - 2}`, "f"])); // WRONGTYPE
      }
      const replies = await within(Promise.all(second), 30_000, "the second 10k sends");
      for (let i = 0; i < 10_000; i++) {
        const reply = replies[i];
        if (i % 3 === 0) assertEquals(reply, "OK", `reply ${i}`);
        else if (i % 3 === 1) assertEquals(reply, `v:${i - 1}:é`, `reply ${i}`);
        else {
          assertOk(reply instanceof RespError && reply.message.startsWith("WRONGTYPE"), `${i}`);
        }
      }
      assertEquals(await c.send(["GET", "counter"]), "10000");
    } finally {
      await c.close();
    }
  });
});

Deno.test("RespConnection: sendAll pipeline puts a failing command's RespError in its slot", async () => {
  await withServer(async (server) => {
    const c = new RespConnection(server.url);
    try {
      assertEquals(await c.sendAll([]), []);
      const replies = await c.sendAll([
        ["SET", "a", "1"],
        ["HGET", "a", "f"],
        ["INCR", "n"],
        ["GET", "a"],
        ["NOSUCH"],
        ["GET", "missing"],
      ]);
      assertEquals(replies.length, 6);
      assertEquals(replies[0], "OK");
      assertOk(replies[1] instanceof RespError);
      assertOk(replies[1].message.startsWith("WRONGTYPE"), replies[1].message);
      assertEquals(replies[2], 1);
      assertEquals(replies[3], "1");
      assertOk(replies[4] instanceof RespError);
      assertOk(replies[4].message.startsWith("ERR unknown command"), replies[4].message);
      assertEquals(replies[5], null);
      // Pipelines and single sends interleaved keep their replies apart.
      const [p1, s1, p2] = await Promise.all([
        c.sendAll([["INCR", "n"], ["INCR", "n"]]),
        c.send(["INCR", "n"]),
        c.sendAll([["INCR", "n"]]),
      ]);
      assertEquals(p1, [2, 3]);
      assertEquals(s1, 4);
      assertEquals(p2, [5]);
    } finally {
      await c.close();
    }
  });
});

Deno.test("RespConnection: MULTI/EXEC through sendAll, EXECABORT, errors inside EXEC, WATCH nil", async () => {
  await withServer(async (server) => {
    const c = new RespConnection(server.url);
    const other = new RespConnection(server.url);
    try {
      assertEquals(
        plain(await c.sendAll([["MULTI"], ["SET", "x", "1"], ["INCR", "x"], ["EXEC"]]) as Reply),
        ["OK", "QUEUED", "QUEUED", ["OK", 2]],
      );
      // A command refused while queueing: EXEC answers EXECABORT and nothing runs.
      const aborted = await c.sendAll([
        ["MULTI"],
        ["SET", "x", "changed"],
        ["NOSUCHCOMMAND"],
        ["EXEC"],
      ]);
      assertEquals(aborted.length, 4);
      assertEquals(aborted.slice(0, 2), ["OK", "QUEUED"]);
      assertOk(aborted[2] instanceof RespError);
      assertOk(aborted[2].message.startsWith("ERR unknown command"), aborted[2].message);
      assertOk(aborted[3] instanceof RespError);
      assertOk(aborted[3].message.startsWith("EXECABORT"), aborted[3].message);
      assertEquals(await c.send(["GET", "x"]), "2", "the aborted transaction did not run");
      // A command failing at run time: its RespError sits inside EXEC's array.
      const ran = await c.sendAll([
        ["MULTI"],
        ["SET", "s", "text"],
        ["INCR", "s"],
        ["GET", "s"],
        ["EXEC"],
      ]);
      const exec = ran[4];
      assertOk(Array.isArray(exec));
      assertEquals(exec[0], "OK");
      assertOk(exec[1] instanceof RespError && exec[1].message.startsWith("ERR"));
      assertEquals(exec[2], "text");
      // WATCH broken by another client: EXEC is a nil array.
      assertEquals(await c.send(["WATCH", "w"]), "OK");
      assertEquals(await other.send(["SET", "w", "theirs"]), "OK");
      assertEquals(
        await c.sendAll([["MULTI"], ["SET", "w", "mine"], ["EXEC"]]),
        ["OK", "QUEUED", null],
      );
      assertEquals(await c.send(["GET", "w"]), "theirs");
    } finally {
      await c.close();
      await other.close();
    }
  });
});

// --- AUTH and SELECT ----------------------------------------------------------------------------

Deno.test("RespConnection: AUTH from the URL; a wrong password rejects with WRONGPASS and nothing hangs", async () => {
  const password = "p@ss w:rd/é";
  await withCustomServer(["--requirepass", password], async (port) => {
    const pw = encodeURIComponent(password);
    const good = new RespConnection(`redis://:${pw}@127.0.0.1:${port}`);
    const withUser = new RespConnection(`redis://default:${pw}@127.0.0.1:${port}/4`);
    const anonymous = new RespConnection(`redis://127.0.0.1:${port}`);
    const wrong = new RespConnection(`redis://:wrong@127.0.0.1:${port}`, {
      retryDelayMs: () => 20,
    });
    try {
      assertEquals(await within(good.send(["PING"]), 5_000, "PING with the password"), "PONG");
      assertEquals(await good.send(["SET", "k", "v"]), "OK");
      assertEquals(await within(withUser.send(["SET", "k4", "v4"]), 5_000, "user + db"), "OK");
      assertEquals(
        await good.sendAll([["SELECT", "4"], ["GET", "k4"], ["SELECT", "0"]]),
        ["OK", "v4", "OK"],
      );

      // Without a password, commands get Redis' NOAUTH error reply as a value.
      const noauth = await within(anonymous.send(["GET", "k"]), 5_000, "GET without AUTH");
      assertOk(noauth instanceof RespError, `got ${JSON.stringify(noauth)}`);
      assertOk(noauth.message.startsWith("NOAUTH"), noauth.message);

      // A refused AUTH fails every command that waited for it, with Redis' own error.
      const waiting = [
        wrong.send(["PING"]),
        wrong.send(["GET", "k"]),
        wrong.sendAll([["SET", "k", "overwritten"], ["GET", "k"]]),
      ];
      for (const [i, p] of waiting.entries()) {
        const error = await within(rejection(p, `command ${i}`), 5_000, `command ${i}`);
        assertOk(error instanceof RespError, `command ${i}: ${error}`);
        assertOk(error.message.startsWith("WRONGPASS"), error.message);
      }
      assertEquals(wrong.ready, false);
      // The next command tries again (after the back-off) and is refused again.
      const again = await within(rejection(wrong.send(["PING"]), "retry"), 5_000, "retry");
      assertOk(again.message.startsWith("WRONGPASS"), again.message);
      assertEquals(await good.send(["GET", "k"]), "v", "nothing ran without authentication");
    } finally {
      await good.close();
      await withUser.close();
      await anonymous.close();
      await wrong.close();
    }
  });
});

Deno.test("RespConnection: the URL's /3 selects db 3", async () => {
  await withServer(async (server) => {
    const db3 = new RespConnection(`${server.url}/3`);
    const db0 = new RespConnection(server.url);
    try {
      assertEquals(await db3.send(["SET", "where", "three"]), "OK");
      assertEquals(await db0.send(["GET", "where"]), null, "not in db 0");
      assertEquals(await db0.send(["DBSIZE"]), 0);
      assertEquals(await db0.sendAll([["SELECT", "3"], ["GET", "where"]]), ["OK", "three"]);
      assertEquals(await db3.send(["GET", "where"]), "three");
    } finally {
      await db3.close();
      await db0.close();
    }
  });
});

Deno.test("RespConnection: a command issued while AUTH/SELECT is in flight runs after the commands queued before it", async () => {
  await withServer(async (server) => {
    const admin = new RespConnection(server.url);
    const c = new RespConnection(`${server.url}/5`);
    try {
      // Hold every client's commands for a while, so the handshake of `c` stays in flight.
      assertEquals(await admin.send(["CLIENT", "PAUSE", "1000", "ALL"]), "OK");
      const first = c.send(["SET", "order", "first"]); // queued while connecting
      // The window under test: the socket opens at once, its AUTH/SELECT wait on the pause. A
      // later command must queue behind `first` rather than go straight out. (Not a
      // synchronisation: the assertion holds however long this takes.)
      await new Promise((resolve) => setTimeout(resolve, 200));
      assertEquals(c.ready, false, "not ready before its handshake is answered");
      const second = c.send(["GET", "order"]); // issued later, by anyone
      assertEquals(await within(first, 5_000, "SET"), "OK");
      assertEquals(
        await within(second, 5_000, "GET"),
        "first",
        "a command issued later must not overtake one issued earlier",
      );
    } finally {
      await c.close();
      await admin.close();
    }
  });
});

// --- losing the server ------------------------------------------------------------------------

Deno.test("RespConnection: a server restart fails commands in flight and while down; later ones succeed", async () => {
  await withServer(async (server, restart) => {
    const c = new RespConnection(`${server.url}/2`, { retryDelayMs: () => 50 });
    const admin = new RespConnection(server.url);
    try {
      assertEquals(await c.send(["SET", "k", "before"]), "OK");
      // (Its rejection is observed at once, so it is never an unhandled one.)
      const blocked = rejection(c.send(["BLPOP", "never", "0"]), "BLPOP");
      await waitFor(async () => (await info(admin, "clients", "blocked_clients")) === 1, {
        what: "BLPOP to block",
      });
      await server.stop();

      const lost = await within(blocked, 5_000, "BLPOP in flight");
      assertOk(!(lost instanceof RespError));
      assertOk(lost.message.startsWith("Connection lost"), lost.message);
      assertEquals(c.ready, false);

      // While the server is down, commands reject promptly (no RespError: nothing answered).
      for (let i = 0; i < 3; i++) {
        const down = await within(rejection(c.send(["PING"]), "PING"), 3_000, `PING ${i}`);
        assertOk(!(down instanceof RespError), `${down}`);
      }
      const downPipeline = await within(
        rejection(c.sendAll([["PING"], ["PING"]]), "pipeline"),
        3_000,
        "pipeline while down",
      );
      assertOk(!(downPipeline instanceof RespError));

      await restart();
      const pong = await waitFor(
        async () => (await c.send(["PING"]).catch(() => null)) === "PONG",
        { timeoutMs: 10_000, intervalMs: 20, what: "the connection to come back" },
      );
      assertOk(pong);
      assertEquals(c.ready, true);
      // The reconnection selected db 2 again.
      assertEquals(await c.send(["SET", "k", "after"]), "OK");
      const check = await waitFor(
        () =>
          admin.sendAll([["SELECT", "2"], ["GET", "k"], ["SELECT", "0"], ["GET", "k"]]).catch(() =>
            null
          ),
        { timeoutMs: 10_000, intervalMs: 20, what: "the admin connection to come back" },
      );
      assertEquals(check, ["OK", "after", "OK", null]);
    } finally {
      await c.close();
      await admin.close();
    }
  });
});

Deno.test("RespConnection: a refused port rejects promptly", async () => {
  const port = freePort();
  const c = new RespConnection(`redis://127.0.0.1:${port}`, { retryDelayMs: () => 30 });
  try {
    const started = Date.now();
    const error = await within(
      rejection(c.send(["PING"]), "PING"),
      2_000,
      "PING to a refused port",
    );
    assertOk(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
    assertOk(!(error instanceof RespError));
    assertEquals(c.ready, false);
    // Again, after the back-off: every waiting command fails, none hangs.
    const again = await within(
      Promise.allSettled([c.send(["PING"]), c.sendAll([["PING"]]), c.send(["GET", "k"])]),
      2_000,
      "commands after the back-off",
    );
    assertEquals(again.map((r) => r.status), ["rejected", "rejected", "rejected"]);
  } finally {
    await c.close();
  }
});

// --- close --------------------------------------------------------------------------------------

Deno.test("RespConnection: close() rejects pending commands and releases the socket", async () => {
  await withServer(async (server) => {
    const c = new RespConnection(server.url);
    const admin = new RespConnection(server.url);
    try {
      assertEquals(await admin.send(["PING"]), "PONG");
      assertEquals(await c.send(["PING"]), "PONG");
      assertEquals(await info(admin, "clients", "connected_clients"), 2);
      const blocked = rejection(c.send(["BLPOP", "never", "0"]), "BLPOP");
      const piped = rejection(c.sendAll([["PING"], ["BLPOP", "never2", "0"]]), "pipeline");
      await waitFor(async () => (await info(admin, "clients", "blocked_clients")) === 1, {
        what: "BLPOP to block",
      });
      await within(c.close(), 2_000, "close()");
      assertEquals(c.ready, false);
      for (const [name, p] of [["BLPOP", blocked], ["pipeline", piped]] as const) {
        const error = await within(p, 1_000, name);
        assertEquals(error.message, "Connection is closed.");
      }
      const after = await within(rejection(c.send(["PING"]), "after close"), 1_000, "after");
      assertEquals(after.message, "Connection is closed.");
      await c.close(); // twice is fine
      // The server sees the socket gone.
      await waitFor(async () => (await info(admin, "clients", "connected_clients")) === 1, {
        what: "the closed connection to leave the server",
      });
    } finally {
      await c.close();
      await admin.close();
    }
  });
});

Deno.test("RespConnection: close() while connecting rejects the waiting command and closes the late socket", async () => {
  // A listener that never answers: the kernel completes the dial whether or not it is accepted.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  try {
    const c = new RespConnection(`redis://127.0.0.1:${port}`);
    const waiting = rejection(c.send(["PING"]), "PING");
    await c.close();
    const error = await within(waiting, 1_000, "PING");
    assertEquals(error.message, "Connection is closed.");
    assertEquals(c.ready, false);
    // The socket whose dial was under way when close() ran is closed by the connection, with
    // nothing written on it: the server side reads end-of-stream.
    const accepted = await within(listener.accept(), 2_000, "accept the dialled socket");
    try {
      const buf = new Uint8Array(64);
      const n = await within(
        accepted.read(buf).catch((e) => (e instanceof Deno.errors.ConnectionReset ? null : 0)),
        2_000,
        "end-of-stream on the abandoned socket",
      );
      assertEquals(n, null, "closed without a byte written");
    } finally {
      accepted.close();
    }
  } finally {
    listener.close();
  }
});

Deno.test("RespConnection: close() during the reconnect back-off rejects and clears the timer", async () => {
  const port = freePort();
  const c = new RespConnection(`redis://127.0.0.1:${port}`, { retryDelayMs: () => 60_000 });
  const first = await within(rejection(c.send(["PING"]), "first"), 2_000, "first PING");
  assertOk(!(first instanceof RespError));
  // The next command waits for a back-off of a minute…
  const waiting = rejection(c.send(["PING"]), "waiting");
  await c.close();
  // …and close() fails it now.
  const error = await within(waiting, 1_000, "the waiting PING");
  assertEquals(error.message, "Connection is closed.");
});

Deno.test("RespConnection: after close() nothing keeps the process alive (back-off timer, socket, reader)", async () => {
  // Deno's test sanitizers do not report a pending setTimeout here, so a child process shows
  // it: it closes one connection in back-off and one with a command in flight, then must exit
  // at once rather than when the 20 s back-off timer would have fired.
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const openPort = (server.addr as Deno.NetAddr).port;
  const refusedPort = freePort();
  const dir = await Deno.makeTempDir({ prefix: "edgepush-resp-exit-" });
  const script = `${dir}/child.ts`;
  const module = new URL("../../../lib/redis/resp/connection.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { RespConnection } from ${JSON.stringify(module)};
const backoff = new RespConnection("redis://127.0.0.1:${refusedPort}", { retryDelayMs: () => 20_000 });
await backoff.send(["PING"]).catch(() => {});
const waiting = backoff.send(["PING"]).catch((e) => e.message);
const inflight = new RespConnection("redis://127.0.0.1:${openPort}");
const pending = inflight.send(["PING"]).catch((e) => e.message);
while (!inflight.ready) await new Promise((r) => setTimeout(r, 5));
await backoff.close();
await inflight.close();
console.log(JSON.stringify([await waiting, await pending]));
`,
  );
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of server) accepted.push(conn);
    } catch { /* listener closed */ }
  })();
  try {
    const started = Date.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", "--no-config", script],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const output = await child.output();
    clearTimeout(killer);
    const took = Date.now() - started;
    const stderr = new TextDecoder().decode(output.stderr);
    assertEquals(output.code, 0, stderr);
    assertEquals(
      JSON.parse(new TextDecoder().decode(output.stdout)),
      ["Connection is closed.", "Connection is closed."],
    );
    assertOk(took < 10_000, `the child exited after ${took} ms: something kept it alive`);
  } finally {
    server.close();
    await accepting;
    for (const conn of accepted) conn.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

// --- the requester ------------------------------------------------------------------------------

Deno.test("createTcpRequester: a stopped server gives Unavailable within the command timeout", async () => {
  const commandTimeoutMs = 1_000;
  await withServer(async (server) => {
    const requester = createTcpRequester(server.url, { commandTimeoutMs, connectTimeoutMs: 500 });
    const request = (body: unknown, path?: string[]) =>
      requester.request({ body, path } as UpstashRequest);
    try {
      assertEquals(await request(["SET", "k", "v"]), { result: "OK" });
      assertEquals(await request(["HGET", "k", "f"]), {
        error: "WRONGTYPE Operation against a key holding the wrong kind of value",
      });
      await server.stop();
      for (
        const [what, run] of [
          ["command", () => request(["GET", "k"])],
          ["pipeline", () => request([["GET", "k"], ["PING"]], ["pipeline"])],
          ["transaction", () => request([["INCR", "n"]], ["multi-exec"])],
          ["command again", () => request(["GET", "k"])],
        ] as const
      ) {
        const started = Date.now();
        await within(assertRejects(run, Unavailable), commandTimeoutMs + 500, what);
        const took = Date.now() - started;
        assertOk(took <= commandTimeoutMs + 400, `${what}: Unavailable after ${took} ms`);
      }
    } finally {
      await requester.close();
    }
  });
});

Deno.test("createTcpRequester: a server that does not answer gives Unavailable after the command timeout", async () => {
  const commandTimeoutMs = 300;
  await withServer(async (server) => {
    const admin = new RespConnection(server.url);
    const requester = createTcpRequester(server.url, { commandTimeoutMs, connectTimeoutMs: 500 });
    try {
      assertEquals(await requester.request({ body: ["PING"] } as UpstashRequest), {
        result: "PONG",
      });
      assertEquals(await admin.send(["CLIENT", "PAUSE", "2000", "ALL"]), "OK");
      const started = Date.now();
      await within(
        assertRejects(
          () => requester.request({ body: ["GET", "k"] } as UpstashRequest),
          Unavailable,
        ),
        1_500,
        "GET on a paused server",
      );
      const took = Date.now() - started;
      assertOk(took >= commandTimeoutMs - 5, `rejected after ${took} ms: too early`);
      assertOk(took <= commandTimeoutMs + 1_200, `rejected after ${took} ms: too late`);
    } finally {
      await requester.close();
      await admin.close();
    }
  });
});

// --- TLS ------------------------------------------------------------------------------------------

Deno.test("RespConnection: rediss:// talks TLS to a TLS redis-server, and refuses a certificate it does not trust", async () => {
  const ca = await createTestCa();
  const dir = await Deno.makeTempDir({ prefix: "edgepush-resp-tls-" });
  try {
    await Deno.writeTextFile(`${dir}/server.pem`, ca.server.certPem);
    await Deno.writeTextFile(`${dir}/server.key`, ca.server.keyPem);
    await Deno.writeTextFile(`${dir}/ca.pem`, ca.caPem);
    const tlsPort = freePort();
    await withCustomServer([
      "--tls-port",
      String(tlsPort),
      "--tls-cert-file",
      `${dir}/server.pem`,
      "--tls-key-file",
      `${dir}/server.key`,
      "--tls-ca-cert-file",
      `${dir}/ca.pem`,
      "--tls-auth-clients",
      "no",
    ], async () => {
      const trusted = new RespConnection(`rediss://127.0.0.1:${tlsPort}/1`, {
        caCerts: [ca.caPem],
      });
      const untrusted = new RespConnection(`rediss://127.0.0.1:${tlsPort}`, {
        retryDelayMs: () => 20,
      });
      try {
        assertEquals(await within(trusted.send(["PING"]), 5_000, "PING over TLS"), "PONG");
        assertEquals(await trusted.send(["SET", "k", "é over TLS"]), "OK");
        assertEquals(await trusted.send(["GET", "k"]), "é over TLS");
        const refused = await within(
          untrusted.send(["PING"]).then(() => null, (error: Error) => error),
          5_000,
          "the untrusted handshake",
        );
        assertOk(refused instanceof Error, "a server certificate from an unknown CA is refused");
      } finally {
        await trusted.close();
        await untrusted.close();
      }
    });
  } finally {
    await ca.cleanup();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
