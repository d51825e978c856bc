import { ApnsCredentialError } from "../../../lib/apns/credential_error.ts";
import {
  type ConnectionCredential,
  createTransport,
  type TransportOptions,
} from "../../../lib/apns/transport.ts";
import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { type MockApnsOptions, startMockApns } from "../../support/mock_apns.ts";
import { waitFor } from "../../support/redis_server.ts";
import { type CertPair, createTestCa } from "../../support/test_ca.ts";

const BUNDLE = "com.example.mtls";
const HEADERS = { "apns-push-type": "alert", "apns-topic": BUNDLE, "apns-priority": "10" };
const token = (i: number) => i.toString(16).padStart(64, "0");

async function setup(mockOptions: MockApnsOptions = {}, options: TransportOptions = {}) {
  const mock = await startMockApns(mockOptions);
  const transport = createTransport({ hosts: mock.hosts, caPem: mock.caPem, ...options });
  const credential = (id: string, pair: CertPair): ConnectionCredential => ({
    kind: "certificate",
    id,
    certPem: pair.certPem,
    keyPem: pair.keyPem,
  });
  const send = (i: number, cred: ConnectionCredential) =>
    transport.send({
      environment: "production",
      deviceToken: token(i),
      headers: HEADERS,
      body: '{"aps":{"alert":"hi"}}',
      credential: cred,
    });
  return {
    mock,
    transport,
    credential,
    send,
    async [Symbol.asyncDispose]() {
      await transport.close();
      await mock.close();
    },
  };
}

Deno.test("transport pools certificate connections per certificate, beside token ones", async () => {
  await using t = await setup();
  const a = t.credential("a", await t.mock.ca.issueApns({ bundleId: BUNDLE, keyType: "ec" }));
  const b = t.credential("b", await t.mock.ca.issueApns({ bundleId: BUNDLE, keyType: "ec" }));
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) => t.send(i, i % 2 ? a : b)),
  );
  assertOk(results.every((r) => r.status === 200));
  assertEquals(t.transport.stats.connectionsOpened, 2, "one connection per certificate");
  const fingerprints = new Set(
    t.mock.accepted.map((p) => p.auth.kind === "certificate" ? p.auth.fingerprint : ""),
  );
  assertEquals(fingerprints.size, 2);
});

Deno.test("transport.retire drains the old certificate's connections and closes them", async () => {
  await using t = await setup();
  const oldPair = await t.mock.ca.issueApns({ bundleId: BUNDLE, keyType: "ec" });
  const old = t.credential("old", oldPair);
  const renewed = t.credential(
    "new",
    await t.mock.ca.issueApns({ bundleId: BUNDLE, keyType: "ec" }),
  );
  assertEquals((await t.send(1, old)).status, 200);
  // A push still in flight on the old connection when the certificate is replaced.
  t.mock.script(token(2), { status: 200, delayMs: 300 });
  const inFlight = t.send(2, old);
  await waitFor(() => t.mock.stats.requests >= 2 || null, { timeoutMs: 5000 });
  t.transport.retire(old);
  const fresh = await t.send(3, renewed);
  assertEquals(fresh.status, 200);
  assertEquals((await inFlight).status, 200, "the in-flight push is answered, not cut");
  const oldFingerprint = t.mock.accepted.find((p) => p.token === token(1))!.auth;
  assertOk(oldFingerprint.kind === "certificate");
  await waitFor(
    () => !t.mock.openSessionsByCertificate().has(oldFingerprint.fingerprint) || null,
    { timeoutMs: 5000 },
  );
  assertEquals(t.mock.openSessionsByCertificate().size, 1, "only the renewed one stays open");
});

Deno.test("transport reports a refused TLS handshake as a BadCertificate credential error", async () => {
  await using t = await setup({ refuseUnknownClients: true }, { maxAttempts: 2, backoffMs: 1 });
  const rogue = await createTestCa();
  try {
    const stranger = t.credential("x", await rogue.issueApns({ bundleId: BUNDLE, keyType: "ec" }));
    const error = await assertRejects(() => t.send(1, stranger), ApnsCredentialError);
    assertEquals((error as ApnsCredentialError).reason, "BadCertificate");
    assertOk((error as ApnsCredentialError).message.includes("refused the TLS handshake"));
  } finally {
    await rogue.cleanup();
  }
});
