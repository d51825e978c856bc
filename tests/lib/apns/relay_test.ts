import { buildHeaders } from "../../../lib/apns/headers.ts";
import { buildPayload } from "../../../lib/apns/payload.ts";
import { createRelay, type Recipient, type RelayApp } from "../../../lib/apns/relay.ts";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { startMockApns } from "../../support/mock_apns.ts";
import { generateApnsKey } from "../../support/mock_apns_keys.ts";
import { startTestRedis } from "../../support/redis_server.ts";

const MIN = 60_000;
const token = (i: number) => i.toString(16).padStart(64, "a");
const message = {
  body: buildPayload({ pushType: "alert", notification: { title: "Hi" } }).body,
  headers: buildHeaders({ bundleId: "com.example.relay", pushType: "alert" }),
};
const recipient = (i: number, environment: Recipient["environment"] = "production"): Recipient => ({
  installationId: `inst-${i}`,
  token: token(i),
  environment,
  registeredAt: 1_000,
});

async function setup(teamId: string) {
  const redis = await startTestRedis();
  const mock = await startMockApns();
  const key = await generateApnsKey();
  await mock.addKey("KEY0000001", teamId, key.publicKey);
  let now = Date.now();
  const clock = {
    now: () => now,
    advance: (ms: number) => void (now += ms),
  };
  const relay = createRelay({
    redis: redis.redis,
    transport: { hosts: mock.hosts, caPem: mock.caPem, backoffMs: 2 },
    now: clock.now,
  });
  const app: RelayApp = {
    bundleId: "com.example.relay",
    credential: { kind: "token", teamId, keyId: "KEY0000001", privateKeyPem: key.privateKeyPem },
  };
  return {
    redis,
    mock,
    relay,
    app,
    clock,
    async [Symbol.asyncDispose]() {
      await relay.close();
      await mock.close();
      await redis.stop();
    },
  };
}

Deno.test("sendBatch accepts, in input order, with apns ids", async () => {
  await using t = await setup("TEAMOK0001");
  const results = await t.relay.sendBatch(
    t.app,
    message,
    Array.from({ length: 20 }, (_, i) => recipient(i)),
  );
  assertEquals(
    results.map((r) => r.installationId),
    Array.from({ length: 20 }, (_, i) => `inst-${i}`),
  );
  assertOk(results.every((r) => r.status === "accepted" && r.attempted && r.apnsId));
  assertEquals(t.mock.accepted.length, 20);
  assertEquals(t.mock.accepted[0].headers["apns-topic"], "com.example.relay");
});

Deno.test("sendBatch hands each result to onResult as it arrives, before a slow one answers", async () => {
  await using t = await setup("TEAMOK0001");
  // Recipient 1's answer is held until the test has seen recipient 0's result.
  t.mock.script(token(1), { status: 200, delayMs: 10_000 });
  let firstSeen!: (r: { index: number; status: string }) => void;
  const first = new Promise<{ index: number; status: string }>((r) => firstSeen = r);
  const seen: number[] = [];
  let finished = false;
  const batch = t.relay.sendBatch(t.app, message, [recipient(0), recipient(1)], {
    onResult(index, result) {
      seen.push(index);
      if (index === 0) firstSeen({ index, status: result.status });
    },
  }).then((results) => {
    finished = true;
    return results;
  });
  assertEquals(await first, { index: 0, status: "accepted" });
  assertEquals(finished, false, "the batch is still waiting on recipient 1");
  assertEquals(seen, [0]);
  await t.mock.dropConnections(); // ends the held stream; the transport retries it, now unscripted
  const results = await batch;
  assertEquals(seen.sort(), [0, 1]);
  assertEquals(results.map((r) => r.status), ["accepted", "accepted"]);
});

Deno.test("sendBatch turns 410 into unregistered feedback only when later than registeredAt", async () => {
  await using t = await setup("TEAM410001");
  t.mock.device(token(1), { unregisteredAt: 5_000 });
  t.mock.device(token(2), { unregisteredAt: 500 });
  const [later, earlier] = await t.relay.sendBatch(t.app, message, [recipient(1), recipient(2)]);
  assertEquals(later.status, "failed");
  assertEquals(later.reason, "Unregistered");
  assertEquals(later.feedback, { kind: "unregistered", timestamp: 5_000 });
  assertEquals(earlier.reason, "Unregistered");
  assertEquals(earlier.feedback, undefined);
});

Deno.test("sendBatch retries BadDeviceToken on the other host: corrected environment or bad_token", async () => {
  await using t = await setup("TEAMENV001");
  t.mock.device(token(1), { environment: "development" });
  t.mock.script(token(2), { status: 400, reason: "BadDeviceToken" }, {
    status: 400,
    reason: "BadDeviceToken",
  });
  const [moved, bad] = await t.relay.sendBatch(t.app, message, [recipient(1), recipient(2)]);
  assertEquals(moved.status, "accepted");
  assertEquals(moved.feedback, { kind: "environment", environment: "development" });
  assertEquals(t.mock.accepted[0].environment, "development");
  assertEquals(bad.status, "failed");
  assertEquals(bad.reason, "BadDeviceToken");
  assertEquals(bad.feedback, { kind: "bad_token" });
});

Deno.test("sendBatch marks DeviceTokenNotForTopic as bad_token", async () => {
  await using t = await setup("TEAMTOPIC1");
  t.mock.device(token(1), { topic: "com.other.app" });
  const [r] = await t.relay.sendBatch(t.app, message, [recipient(1)]);
  assertEquals(r.reason, "DeviceTokenNotForTopic");
  assertEquals(r.feedback, { kind: "bad_token" });
});

Deno.test("sendBatch refreshes the token once on ExpiredProviderToken and retries", async () => {
  await using t = await setup("TEAMEXP001");
  await t.relay.sendBatch(t.app, message, [recipient(0)]);
  t.clock.advance(25 * MIN);
  t.mock.script(token(1), { status: 403, reason: "ExpiredProviderToken" });
  const [r] = await t.relay.sendBatch(t.app, message, [recipient(1)]);
  assertEquals(r.status, "accepted");
  const jwts = new Set(t.mock.accepted.map((p) => p.headers.authorization));
  assertEquals(jwts.size, 2);
});

Deno.test("sendBatch reports clock skew when a young token is called expired", async () => {
  await using t = await setup("TEAMSKEW02");
  await t.relay.sendBatch(t.app, message, [recipient(0)]);
  t.clock.advance(5 * MIN);
  t.mock.script(token(1), { status: 403, reason: "ExpiredProviderToken" });
  const [r] = await t.relay.sendBatch(t.app, message, [recipient(1)]);
  assertEquals(r.status, "failed");
  assertEquals(r.credentialError?.reason, "ClockSkew");
});

Deno.test("sendBatch stops at InvalidProviderToken with a credential error", async () => {
  await using t = await setup("TEAMBAD001");
  t.mock.removeKey("KEY0000001");
  const results = await t.relay.sendBatch(
    t.app,
    message,
    Array.from({ length: 50 }, (_, i) => recipient(i)),
  );
  assertOk(results.every((r) => r.status === "failed" && r.credentialError));
  assertEquals(results[0].reason, "InvalidProviderToken");
  assertOk(results[0].credentialError!.message.includes("key id"));
});

Deno.test("sendBatch sends with certificate auth and no authorization header", async () => {
  await using t = await setup("TEAMCERT01");
  const client = await t.mock.ca.issueApns({ bundleId: "com.example.relay", keyType: "ec" });
  const app: RelayApp = {
    bundleId: "com.example.relay",
    credential: { kind: "certificate", certPem: client.certPem, keyPem: client.keyPem },
  };
  const [r] = await t.relay.sendBatch(app, message, [recipient(1)]);
  assertEquals(r.status, "accepted");
  assertEquals(t.mock.accepted[0].auth.kind, "certificate");
  assertEquals(
    (t.mock.accepted[0].auth as { subject: string }).subject,
    "Apple Push Services: com.example.relay",
  );
  assertEquals(t.mock.accepted[0].headers.authorization, undefined);
});

Deno.test("sendBatch reports BadCertificate for an expired client certificate", async () => {
  await using t = await setup("TEAMCERT02");
  const client = await t.mock.ca.issueApns({
    bundleId: "com.example.relay",
    startDays: -3,
    endDays: -1,
    keyType: "ec",
  });
  const app: RelayApp = {
    bundleId: "com.example.relay",
    credential: { kind: "certificate", certPem: client.certPem, keyPem: client.keyPem },
  };
  const [r] = await t.relay.sendBatch(app, message, [recipient(1)]);
  assertEquals(r.reason, "BadCertificate");
  assertOk(r.credentialError);
});

Deno.test("sendBatch retries, and does not count as attempted, a push no stream came free for", async () => {
  const redis = await startTestRedis();
  // Every push waits 1.5 s for its answer, and one connection carries one stream at a time.
  const mock = await startMockApns({ acceptUnknownKeys: true, latencyMs: 1_500 });
  const key = await generateApnsKey();
  const relay = createRelay({
    redis: redis.redis,
    transport: {
      hosts: mock.hosts,
      caPem: mock.caPem,
      connections: 1,
      maxStreams: 1,
      timeoutMs: 1_000,
    },
  });
  try {
    const app: RelayApp = {
      bundleId: "com.example.relay",
      credential: {
        kind: "token",
        teamId: "TEAMSTREAM",
        keyId: "KEY0000001",
        privateKeyPem: key.privateKeyPem,
      },
    };
    // Three pushes, one stream: the first holds it past the deadline, so at least the last never
    // gets one.
    const results = await relay.sendBatch(app, message, [1, 2, 3].map((i) => recipient(i)));
    const waited = results.filter((r) => r.attempted === false);
    assertOk(waited.length >= 1, JSON.stringify(results));
    assertOk(waited.every((r) => r.reason === "Timeout" && r.transient === true));
    // The one that held the stream reached APNs: an attempt, answered too late, not retried.
    assertOk(results.some((r) => r.attempted && r.reason === "Timeout" && !r.transient));
  } finally {
    await relay.close();
    await mock.close();
    await redis.stop();
  }
});
