import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { startTestCluster } from "../../support/redis_cluster.ts";
import { createFunctionLibrary } from "../../../lib/redis/mod.ts";
import type { Redis } from "@upstash/redis";

/** FUNCTION LOAD calls Redis has run, from INFO commandstats. */
async function loads(redis: Redis): Promise<number> {
  const info = String(await redis.exec(["INFO", "commandstats"]));
  return Number(/cmdstat_function\|load:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

/** FUNCTION LIST's answer as text, for what it names. */
async function listed(redis: Redis): Promise<string> {
  return JSON.stringify(await redis.exec(["FUNCTION", "LIST"]));
}

/** A library whose prelude counts calls in a top-level local, reset or not by `eachCall`. */
function counting(redis: Redis, eachCall?: string) {
  return createFunctionLibrary(redis, {
    name: "test_counting",
    prelude: "local calls = 0\nlocal function forget() calls = 0 end",
    eachCall,
    functions: {
      count: "calls = calls + 1\nreturn { KEYS[1], ARGV[1], calls }",
      fail: "return redis.error_reply('ERR told to fail')",
    },
  });
}

Deno.test("a function library loads on its first call, then runs with FCALL alone", async () => {
  const t = await startTestRedis();
  try {
    const lib = counting(t.redis);
    assertEquals(await listed(t.redis), "[]");
    assertEquals(await lib.call("count", ["k"], ["a"]), ["k", "a", 1]);
    const text = await listed(t.redis);
    for (const name of [lib.libraryName, lib.functionName("count"), lib.functionName("fail")]) {
      assertOk(text.includes(`"${name}"`), `${name} in ${text}`);
    }
    // The prelude ran once: its locals outlive a call (what `eachCall` is for).
    assertEquals(await lib.call("count", ["k"], ["b"]), ["k", "b", 2]);
    assertEquals(await loads(t.redis), 1);
  } finally {
    await t.stop();
  }
});

Deno.test("eachCall runs first in every call", async () => {
  const t = await startTestRedis();
  try {
    const lib = counting(t.redis, "forget()");
    for (const arg of ["a", "b", "c"]) {
      assertEquals(await lib.call("count", ["k"], [arg]), ["k", arg, 1]);
    }
  } finally {
    await t.stop();
  }
});

Deno.test("a Redis that lost its functions (FUNCTION FLUSH, a restart without persistence) gets them again on the next call", async () => {
  const t = await startTestRedis();
  try {
    const lib = counting(t.redis);
    await lib.call("count", ["k"], ["a"]);
    await t.redis.exec(["FUNCTION", "FLUSH"]);
    assertEquals(await lib.call("count", ["k"], ["b"]), ["k", "b", 1]);
    assertEquals(await loads(t.redis), 2);
  } finally {
    await t.stop();
  }
});

Deno.test("concurrent first calls share one FUNCTION LOAD", async () => {
  const t = await startTestRedis();
  try {
    const lib = counting(t.redis, "forget()");
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => lib.call("count", [`k${i}`], [String(i)])),
    );
    assertEquals(answers, Array.from({ length: 50 }, (_, i) => [`k${i}`, String(i), 1]));
    assertEquals(await loads(t.redis), 1);
  } finally {
    await t.stop();
  }
});

Deno.test("a function's own error is thrown as is, without reloading", async () => {
  const t = await startTestRedis();
  try {
    const lib = counting(t.redis);
    await lib.call("count", ["k"], ["a"]);
    await assertRejects(() => lib.call("fail", ["k"], []), Error, "told to fail");
    assertEquals(await loads(t.redis), 1);
  } finally {
    await t.stop();
  }
});

Deno.test("two versions of a library live side by side under names from their text", async () => {
  const t = await startTestRedis();
  try {
    const make = (answer: string) =>
      createFunctionLibrary(t.redis, {
        name: "test_versions",
        prelude: "",
        functions: { answer: `return '${answer}'` },
      });
    const [v1, v2] = [make("one"), make("two")];
    assertOk(v1.libraryName !== v2.libraryName);
    assertOk(v1.libraryName.startsWith("test_versions_"));
    assertEquals(make("one").libraryName, v1.libraryName);
    assertEquals(await v1.call("answer", [], []), "one");
    assertEquals(await v2.call("answer", [], []), "two");
    assertEquals(await v1.call("answer", [], []), "one");
    const text = await listed(t.redis);
    assertOk(text.includes(v1.libraryName) && text.includes(v2.libraryName), text);
  } finally {
    await t.stop();
  }
});

Deno.test("library and function names are checked before anything reaches Redis", () => {
  const redis = {} as Redis;
  for (const name of ["Bad-Name", "", "x y", "a'b"]) {
    let threw = false;
    try {
      createFunctionLibrary(redis, { name, prelude: "", functions: { f: "return 1" } });
    } catch {
      threw = true;
    }
    assertOk(threw, `library name ${JSON.stringify(name)} accepted`);
  }
  let threw = false;
  try {
    createFunctionLibrary(redis, { name: "ok", prelude: "", functions: { "f')": "return 1" } });
  } catch {
    threw = true;
  }
  assertOk(threw, "a function name that would break the library text was accepted");
});

Deno.test("cluster: FUNCTION LOAD reaches every master, so calls in any slot find the library", async () => {
  const cluster = await startTestCluster();
  try {
    const lib = counting(cluster.redis, "forget()");
    const keys = ["ep:v1:{app_a}:", "ep:v1:{app_b}:", "ep:v1:{app_c}:", "ep:v1:{app_d}:"];
    const owners = new Set(await Promise.all(keys.map((key) => cluster.masterOf(key))));
    assertEquals(owners.size, 3, "the keys' slots are spread over the three masters");
    for (const key of keys) assertEquals(await lib.call("count", [key], ["x"]), [key, "x", 1]);
    let loaded = 0;
    for (const port of await cluster.masters()) {
      const listed = JSON.stringify(await cluster.command(port, "FUNCTION", "LIST"));
      if (listed.includes(lib.libraryName)) loaded++;
    }
    assertEquals(loaded, 3);
    // FLUSH goes to every master too; the next call in each slot loads again.
    await cluster.redis.exec(["FUNCTION", "FLUSH"]);
    for (const port of await cluster.masters()) {
      const listed = JSON.stringify(await cluster.command(port, "FUNCTION", "LIST"));
      assertOk(!listed.includes(lib.libraryName), `port ${port} still lists it`);
    }
    for (const key of keys) assertEquals(await lib.call("count", [key], ["y"]), [key, "y", 1]);
  } finally {
    await cluster.stop();
  }
});
