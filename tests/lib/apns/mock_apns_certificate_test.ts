import http2 from "node:http2";
import { assertEquals, assertOk } from "../../support/assert.ts";
import { startMockApns } from "../../support/mock_apns.ts";
import { type CertPair, createTestCa } from "../../support/test_ca.ts";

const TOKEN = "d".repeat(64);

/** One request with a client certificate; `status: 0` when the connection never answered. */
function post(host: string, caPem: string, client: CertPair, topic: string) {
  return new Promise<{ status: number; body: string }>((resolve) => {
    const session = http2.connect(`https://${host}`, {
      ca: caPem,
      cert: client.certPem,
      key: client.keyPem,
    });
    session.on("error", () => {});
    const req = session.request({
      ":method": "POST",
      ":path": `/3/device/${TOKEN}`,
      "apns-topic": topic,
      "apns-push-type": topic.endsWith(".voip") ? "voip" : "alert",
    });
    let status = 0;
    let text = "";
    req.on("error", () => {});
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", (c) => (text += c));
    req.on("close", () => {
      // A refused handshake has closed the session already: close() would never call back.
      if (session.closed || session.destroyed) return resolve({ status, body: text });
      session.close(() => resolve({ status, body: text }));
    });
    req.end(JSON.stringify({ aps: { alert: "hi" } }));
  });
}

Deno.test("mock APNs checks client certificates as APNs does: issuer, environment, topic", async () => {
  const mock = await startMockApns();
  const rogue = await createTestCa();
  try {
    const bundleId = "com.example.mock";
    const both = await mock.ca.issueApns({ bundleId, topics: [bundleId, `${bundleId}.voip`] });
    const dev = await mock.ca.issueApns({ bundleId, environments: ["development"] });
    const stranger = await rogue.issueApns({ bundleId });
    const reason = async (env: "production" | "development", c: CertPair, topic = bundleId) => {
      const res = await post(mock.hosts[env], mock.caPem, c, topic);
      return res.status === 200 ? "accepted" : `${res.status} ${JSON.parse(res.body).reason}`;
    };
    assertEquals(await reason("production", both), "accepted");
    assertEquals(await reason("development", both), "accepted");
    assertEquals(await reason("development", both, `${bundleId}.voip`), "accepted");
    assertEquals(await reason("development", dev), "accepted");
    assertEquals(await reason("production", dev), "403 BadCertificateEnvironment");
    assertEquals(await reason("development", dev, `${bundleId}.voip`), "400 TopicDisallowed");
    assertEquals(await reason("production", both, "com.example.other"), "400 TopicDisallowed");
    assertEquals(await reason("production", stranger), "403 BadCertificate");
    const auth = mock.accepted[0].auth;
    assertOk(auth.kind === "certificate");
    assertEquals(auth.subject, `Apple Push Services: ${bundleId}`);
    assertOk(/^[0-9a-f]{64}$/.test(auth.fingerprint));
  } finally {
    await rogue.cleanup();
    await mock.close();
  }
});

Deno.test("mock APNs with refuseUnknownClients refuses the handshake of an unknown issuer", async () => {
  const mock = await startMockApns({ refuseUnknownClients: true });
  const rogue = await createTestCa();
  try {
    const bundleId = "com.example.mock";
    const known = await mock.ca.issueApns({ bundleId, keyType: "ec" });
    const stranger = await rogue.issueApns({ bundleId, keyType: "ec" });
    assertEquals((await post(mock.hosts.production, mock.caPem, known, bundleId)).status, 200);
    assertEquals((await post(mock.hosts.production, mock.caPem, stranger, bundleId)).status, 0);
    assertEquals(mock.stats.accepted, 1);
  } finally {
    await rogue.cleanup();
    await mock.close();
  }
});
