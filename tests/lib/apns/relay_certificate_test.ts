import { parseCertificate } from "../../../lib/apns/certificate.ts";
import { buildHeaders } from "../../../lib/apns/headers.ts";
import { buildPayload } from "../../../lib/apns/payload.ts";
import { createRelay, type Recipient, type RelayApp } from "../../../lib/apns/relay.ts";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { startMockApns } from "../../support/mock_apns.ts";
import { startTestRedis, waitFor } from "../../support/redis_server.ts";
import { type ApnsCertOptions, createTestCa } from "../../support/test_ca.ts";

const BUNDLE = "com.example.certs";
const DAY = 86_400_000;
const token = (i: number) => i.toString(16).padStart(64, "b");
const alert = {
  body: buildPayload({ pushType: "alert", notification: { title: "Hi" } }).body,
  headers: buildHeaders({ bundleId: BUNDLE, pushType: "alert" }),
};
const voip = {
  body: buildPayload({ pushType: "voip", aps: {} }).body,
  headers: buildHeaders({ bundleId: BUNDLE, pushType: "voip" }),
};
const recipient = (i: number, environment: Recipient["environment"]): Recipient => ({
  installationId: `inst-${i}`,
  token: token(i),
  environment,
  registeredAt: 1_000,
});

async function setup() {
  const redis = await startTestRedis();
  const mock = await startMockApns();
  let now = Date.now();
  const relay = createRelay({
    redis: redis.redis,
    transport: { hosts: mock.hosts, caPem: mock.caPem, backoffMs: 2 },
    now: () => now,
  });
  const app = async (
    options: Partial<ApnsCertOptions> = {},
    ca = mock.ca,
  ): Promise<RelayApp> => {
    const pair = await ca.issueApns({ bundleId: BUNDLE, keyType: "ec", ...options });
    const { summary } = await parseCertificate(pair.certPem);
    return {
      bundleId: BUNDLE,
      credential: { kind: "certificate", certPem: pair.certPem, keyPem: pair.keyPem, summary },
    };
  };
  return {
    mock,
    relay,
    app,
    advance: (ms: number) => void (now += ms),
    async [Symbol.asyncDispose]() {
      await relay.close();
      await mock.close();
      await redis.stop();
    },
  };
}

Deno.test("sendBatch with a Sandbox & Production certificate reaches both environments over mTLS", async () => {
  await using t = await setup();
  const app = await t.app({ topics: [BUNDLE, `${BUNDLE}.voip`] });
  const results = await t.relay.sendBatch(app, alert, [
    recipient(1, "development"),
    recipient(2, "production"),
  ]);
  assertEquals(results.map((r) => r.status), ["accepted", "accepted"]);
  assertEquals(t.mock.accepted.map((p) => p.environment).sort(), ["development", "production"]);
  assertOk(t.mock.accepted.every((p) => p.auth.kind === "certificate"));
  assertEquals(
    (await t.relay.sendBatch(app, voip, [recipient(3, "production")]))[0].status,
    "accepted",
  );
});

Deno.test("sendBatch fails what the certificate does not allow without an APNs request", async () => {
  await using t = await setup();
  const devOnly = await t.app({ environments: ["development"] });
  const results = await t.relay.sendBatch(devOnly, alert, [
    recipient(1, "production"),
    recipient(2, "development"),
  ]);
  assertEquals(results[0], {
    installationId: "inst-1",
    status: "failed",
    reason: "BadCertificateEnvironment",
    attempted: false,
  });
  assertEquals(results[1].status, "accepted");
  const [noVoip] = await t.relay.sendBatch(devOnly, voip, [recipient(3, "development")]);
  assertEquals(noVoip.reason, "TopicDisallowed");
  assertEquals(noVoip.attempted, false);
  assertEquals(t.mock.stats.requests, 1, "only the allowed push reached APNs");
});

Deno.test("sendBatch: APNs' own BadCertificateEnvironment fails the recipient, not the credential", async () => {
  await using t = await setup();
  const app = await t.app({ environments: ["development"] });
  // Claim both environments, as a certificate APNs disagrees with would.
  if (app.credential.kind !== "certificate") throw new Error("certificate app");
  app.credential.summary!.environments = ["development", "production"];
  const [r] = await t.relay.sendBatch(app, alert, [recipient(1, "production")]);
  assertEquals(r.status, "failed");
  assertEquals(r.reason, "BadCertificateEnvironment");
  assertEquals(r.attempted, true);
  assertEquals(r.credentialError, undefined);
  assertEquals(r.feedback, undefined, "the token is not invalidated");
});

Deno.test("sendBatch: an expired certificate fails fast; an unknown issuer is a credential error", async () => {
  await using t = await setup();
  const app = await t.app({ endDays: 3 });
  t.advance(4 * DAY);
  const expired = await t.relay.sendBatch(app, alert, [
    recipient(1, "production"),
    recipient(2, "development"),
  ]);
  assertOk(expired.every((r) => r.reason === "ExpiredCertificate" && r.credentialError));
  assertOk(expired.every((r) => !r.attempted));
  assertEquals(t.mock.stats.requests, 0);

  const rogue = await createTestCa();
  try {
    const stranger = await t.app({}, rogue);
    const refused = await t.relay.sendBatch(stranger, alert, [recipient(3, "production")]);
    assertEquals(refused[0].reason, "BadCertificate");
    assertOk(refused[0].credentialError);
  } finally {
    await rogue.cleanup();
  }
});

Deno.test("sendBatch: a renewed certificate takes over and the old one's connections close", async () => {
  await using t = await setup();
  const old = await t.app({ endDays: 20 });
  const renewed = await t.app({ endDays: 365 });
  assertEquals(
    (await t.relay.sendBatch(old, alert, [recipient(1, "production")]))[0].status,
    "accepted",
  );
  const oldFingerprint =
    (old.credential as { summary: { fingerprint: string } }).summary.fingerprint;
  assertEquals(t.mock.openSessionsByCertificate().get(oldFingerprint), 1);
  assertEquals(
    (await t.relay.sendBatch(renewed, alert, [recipient(2, "production")]))[0].status,
    "accepted",
  );
  await waitFor(() => !t.mock.openSessionsByCertificate().has(oldFingerprint) || null);
  // A worker whose cache still holds the old certificate keeps working, without flapping.
  assertEquals(
    (await t.relay.sendBatch(old, alert, [recipient(3, "production")]))[0].status,
    "accepted",
  );
  assertEquals(
    (await t.relay.sendBatch(renewed, alert, [recipient(4, "production")]))[0].status,
    "accepted",
  );
  assertEquals(t.mock.stats.accepted, 4);
});
