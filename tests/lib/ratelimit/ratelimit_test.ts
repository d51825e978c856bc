import {
  clientScope,
  parseRateRule,
  rateLimitLua,
  rateLimitSpec,
} from "../../../lib/ratelimit/mod.ts";
import { assertEquals, assertThrows } from "../../support/assert.ts";
import { startTestRedis } from "../../support/redis_server.ts";
import { createFunctionLibrary } from "../../../lib/redis/mod.ts";

Deno.test("clientScope keeps IPv4 and reduces IPv6 to its /64", () => {
  assertEquals(clientScope("198.51.100.7"), "198.51.100.7");
  assertEquals(clientScope("::ffff:198.51.100.7"), "198.51.100.7");
  assertEquals(clientScope("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  assertEquals(clientScope("[2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd]"), "2001:db8:1:2::/64");
  assertEquals(clientScope("2001:db8::"), "2001:db8:0:0::/64");
  assertEquals(clientScope("fe80::1%eth0"), "fe80:0:0:0::/64");
  assertEquals(clientScope("unknown"), "unknown");
});

Deno.test("parseRateRule reads <n>/<s>s and off, and refuses anything else", () => {
  assertEquals(parseRateRule("120/60s"), { limit: 120, windowSeconds: 60 });
  assertEquals(parseRateRule("off"), null);
  for (const bad of ["0/60s", "10/0s", "10/60", "ten/60s", ""]) {
    assertThrows(() => parseRateRule(bad), Error, "expected");
  }
  assertEquals(rateLimitSpec(null), "");
  assertEquals(
    rateLimitSpec({ address: { limit: 5, windowSeconds: 2 }, installation: null }),
    "5,2000,0,0",
  );
});

Deno.test("rl_take: a sliding window that counts allowed calls only and weighs the previous window", async () => {
  const t = await startTestRedis();
  try {
    const take = t.redis.createScript<number>(
      `${rateLimitLua}\nreturn rl_take(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])`,
    );
    const spec = rateLimitSpec({
      address: { limit: 4, windowSeconds: 10 },
      installation: null,
    });
    const call = (scope: string, id: string, at: number) =>
      take.exec(["ep:v1:{rl-test}:"], [spec, scope, id, String(at)]).then(Number);
    const t0 = 1_000_000_000_000; // a window boundary (multiple of 10,000 ms)
    for (let i = 0; i < 4; i++) assertEquals(await call("address", "a", t0 + i), 0);
    // Refused: the answer is the time left in the window, and nothing is counted.
    assertEquals(await call("address", "a", t0 + 2_500), 7_500);
    assertEquals(await t.redis.get("ep:v1:{rl-test}:rl:a:a:100000000"), "4");
    // Another id, and the off scope, are not limited.
    assertEquals(await call("address", "b", t0 + 2_500), 0);
    for (let i = 0; i < 10; i++) assertEquals(await call("installation", "x", t0), 0);
    // Half-way through the next window the previous 4 weigh 2: two more calls pass.
    assertEquals(await call("address", "a", t0 + 15_000), 0);
    assertEquals(await call("address", "a", t0 + 15_000), 0);
    assertEquals(await call("address", "a", t0 + 15_000) > 0, true);
    // Counters expire on their own (two windows).
    const ttl = await t.redis.pttl("ep:v1:{rl-test}:rl:a:a:100000001");
    assertEquals(ttl > 10_000 && ttl <= 20_000, true);
  } finally {
    await t.stop();
  }
});

Deno.test("rl_take in a function library: its memos of the spec and the window follow each call", async () => {
  // A library's locals outlive a call, so the parsed spec and the window's key suffixes are
  // memos there: two deployments with different limits, and a window that ends, must each
  // still count as their own.
  const t = await startTestRedis();
  try {
    const library = createFunctionLibrary(t.redis, {
      name: "rl_memo_test",
      prelude: rateLimitLua,
      functions: { take: "return rl_take(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])" },
    });
    const two = rateLimitSpec({ address: { limit: 2, windowSeconds: 10 }, installation: null });
    const three = rateLimitSpec({ address: { limit: 3, windowSeconds: 10 }, installation: null });
    const call = (prefix: string, spec: string, at: number) =>
      library.call<number>("take", [`ep:v1:{${prefix}}:`], [spec, "address", "a", String(at)])
        .then(Number);
    const t0 = 1_000_000_000_000; // a window boundary (multiple of 10,000 ms)
    const allowed = async (prefix: string, spec: string, at: number) => {
      let n = 0;
      for (let i = 0; i < 5; i++) if (await call(prefix, spec, at) === 0) n++;
      return n;
    };
    // Interleaved: each spec keeps its own limit.
    assertEquals(await call("p2", two, t0), 0);
    assertEquals(await call("p3", three, t0), 0);
    assertEquals(await allowed("p2", two, t0), 1);
    assertEquals(await allowed("p3", three, t0), 2);
    // Two windows later the previous one is empty: the counts start over under new keys.
    assertEquals(await allowed("p2", two, t0 + 20_000), 2);
    assertEquals(await t.redis.get("ep:v1:{p2}:rl:a:a:100000002"), "2");
    // And a call back in the first window still finds that window's count (full).
    assertEquals(await call("p2", two, t0 + 1) > 0, true);
  } finally {
    await t.stop();
  }
});
