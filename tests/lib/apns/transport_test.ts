import {
  ApnsTransportError,
  createTransport,
  type TransportOptions,
} from "../../../lib/apns/transport.ts";
import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { type MockApnsOptions, startMockApns } from "../../support/mock_apns.ts";
import { manualClock } from "../../support/manual_clock.ts";
import { waitFor } from "../../support/redis_server.ts";

// An unsigned-but-well-formed token: these mocks accept unknown keys, so only shape matters.
const AUTH = `bearer ${btoa('{"alg":"ES256","kid":"K"}')}.${
  btoa(`{"iss":"T","iat":${Math.floor(Date.now() / 1000)}}`)
}.c2ln`;
const HEADERS = { "apns-push-type": "alert", "apns-topic": "com.example", "apns-priority": "10" };
const token = (i: number) => i.toString(16).padStart(64, "0");

async function setup(mockOptions: MockApnsOptions = {}, options: TransportOptions = {}) {
  const mock = await startMockApns({ acceptUnknownKeys: true, ...mockOptions });
  const transport = createTransport({ hosts: mock.hosts, caPem: mock.caPem, ...options });
  const send = (i: number) =>
    transport.send({
      environment: "production",
      deviceToken: token(i),
      headers: HEADERS,
      body: '{"aps":{"alert":"hi"}}',
      credential: { kind: "token", id: "T" },
      authorization: AUTH,
    });
  return {
    mock,
    transport,
    send,
    async [Symbol.asyncDispose]() {
      await transport.close();
      await mock.close();
    },
  };
}

Deno.test("transport reuses one long-lived connection", async () => {
  await using t = await setup();
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => t.send(i)));
  assertOk(results.every((r) => r.status === 200 && r.apnsId));
  await t.send(51);
  assertEquals(t.transport.stats.connectionsOpened, 1);
  assertEquals(t.mock.stats.sessions, 1);
  assertEquals(t.mock.stats.accepted, 51);
});

Deno.test("transport bounds in-flight streams per connection by its option", async () => {
  await using t = await setup({}, { maxStreams: 5 });
  for (let i = 0; i < 40; i++) t.mock.script(token(i), { status: 200, delayMs: 20 });
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => t.send(i)));
  assertOk(results.every((r) => r.status === 200));
  assertOk(t.mock.stats.peakStreams <= 5, `peak ${t.mock.stats.peakStreams}`);
  assertEquals(t.mock.stats.peakStreams, 5);
});

Deno.test("transport respects the server's SETTINGS_MAX_CONCURRENT_STREAMS", async () => {
  await using t = await setup({ maxConcurrentStreams: 3 }, { maxStreams: 100 });
  await t.send(999); // learn the settings
  for (let i = 0; i < 30; i++) t.mock.script(token(i), { status: 200, delayMs: 20 });
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => t.send(i)));
  assertOk(results.every((r) => r.status === 200));
  assertOk(t.mock.stats.peakStreams <= 3, `peak ${t.mock.stats.peakStreams}`);
});

Deno.test("transport retries streams refused by GOAWAY on a fresh connection", async () => {
  await using t = await setup({ goAwayAfter: 40 });
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => t.send(i)));
  assertOk(
    results.every((r) => r.status === 200),
    JSON.stringify(results.filter((r) => r.status !== 200)),
  );
  assertEquals(t.mock.stats.accepted, 100);
  for (let i = 0; i < 100; i++) assertEquals(t.mock.countFor(token(i)), 1);
  assertOk(t.transport.stats.connectionsOpened >= 3);
});

Deno.test("transport replaces connections cut with streams in flight, and keeps sending", async () => {
  await using t = await setup({}, { connections: 2, timeoutMs: 5_000 });
  // The cut races the client's own notice of it; several rounds cover both orders.
  for (let round = 0; round < 8; round++) {
    const base = round * 100;
    for (let i = 0; i < 20; i++) t.mock.script(token(base + i), { status: 200, delayMs: 3_000 });
    const before = t.mock.stats.requests;
    const inflight = Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => t.send(base + i).then((r) => r.status, (e) => (e as Error).message),
      ),
    );
    await waitFor(() => t.mock.stats.requests >= before + 20, { what: "20 streams in flight" });
    await t.mock.dropConnections();
    const retried = await inflight;
    assertOk(retried.every((s) => s === 200), `round ${round}: ${JSON.stringify(retried)}`);
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => t.send(base + 50 + i)));
    assertOk(after.every((r) => r.status === 200), `round ${round}: sends after the cut`);
  }
});

Deno.test("transport honours retry-after on 429 (on its clock: no real wait)", async () => {
  const clock = manualClock(Date.now());
  await using t = await setup({}, { clock });
  t.mock.script(token(1), { status: 429, reason: "TooManyRequests", retryAfter: 1 });
  const result = await t.send(1);
  assertEquals(result.status, 200);
  assertEquals(clock.sleeps, [1000], "waited exactly APNs' retry-after");
  assertEquals(t.mock.countFor(token(1)), 1);
});

Deno.test("transport returns a 429 whose retry-after would outlast the request's deadline", async () => {
  const clock = manualClock(Date.now());
  await using t = await setup({}, { clock, timeoutMs: 5_000 });
  t.mock.script(token(1), { status: 429, reason: "TooManyRequests", retryAfter: 6 });
  const result = await t.send(1);
  assertEquals(result.status, 429);
  assertEquals(result.retryAfterMs, 6_000);
  assertEquals(clock.sleeps, []);
});

Deno.test("transport backs off between attempts with growing, jittered waits", async () => {
  const clock = manualClock(Date.now());
  await using t = await setup({}, { clock, maxAttempts: 4, backoffMs: 100 });
  t.mock.script(token(1), { status: 503 }, { status: 503 }, { status: 503 });
  assertEquals((await t.send(1)).status, 200);
  assertEquals(clock.sleeps.length, 3);
  clock.sleeps.forEach((ms, i) => assertOk(ms >= 0 && ms < 100 * 2 ** i, `wait ${i}: ${ms}`));
});

Deno.test("transport retries 503 and 500, and returns the last answer when attempts run out", async () => {
  await using t = await setup({}, { maxAttempts: 3, backoffMs: 5 });
  t.mock.script(token(1), { status: 503, reason: "ServiceUnavailable" }, { status: 500 });
  assertEquals((await t.send(1)).status, 200);
  t.mock.script(token(2), { status: 503 }, { status: 503 }, {
    status: 503,
    reason: "ServiceUnavailable",
  });
  const last = await t.send(2);
  assertEquals(last, { status: 503, apnsId: last.apnsId, reason: "ServiceUnavailable" });
  assertEquals(t.transport.stats.retries, 4);
});

Deno.test("transport times out a request APNs does not answer", async () => {
  await using t = await setup({}, { timeoutMs: 200 });
  t.mock.script(token(1), { status: 200, delayMs: 10_000 });
  const error = await assertRejects(() => t.send(1), ApnsTransportError);
  assertEquals((error as ApnsTransportError).reason, "Timeout");
  assertEquals((await t.send(2)).status, 200);
});

Deno.test("transport survives random faults (429/503/GOAWAY)", async () => {
  await using t = await setup({ faults: { rate: 0.2, seed: 7 } }, { maxAttempts: 8, backoffMs: 2 });
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => t.send(i)));
  assertOk(results.every((r) => r.status === 200));
  for (let i = 0; i < 300; i++) assertEquals(t.mock.countFor(token(i)), 1);
});
