/**
 * The errors people hit first say what to do: which credential a route wants, how to fix a .p8
 * key that will not import, and how to send a member list over the body limit.
 */
import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { ADMIN_TOKEN, generateApnsKey, startHarness } from "../support/harness.ts";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

Deno.test("a server route without `Bearer ` or with the admin token says it wants the server key", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const path = `/v1/apps/${app.appId}/segments`;
    const bare = await h.call("GET", path, { headers: { authorization: app.serverKey } });
    assertEquals(bare.status, 401);
    assertStringIncludes(bare.body.error.message, 'lacks the "Bearer " prefix');
    assertStringIncludes(bare.body.error.message, "Authorization: Bearer <serverKey>");
    const withAdmin = await h.call("GET", path, { headers: admin });
    assertEquals(withAdmin.status, 401);
    assertStringIncludes(withAdmin.body.error.message, "the admin token and app keys are not");
    assertStringIncludes(withAdmin.body.error.message, "server key (sk_");
    const none = await h.call("GET", path);
    assertStringIncludes(none.body.error.message, "missing Authorization header");
    assertEquals(
      (await h.call("GET", path, { headers: { authorization: `Bearer ${app.serverKey}` } }))
        .status,
      200,
    );
    const serverOnAdmin = await h.call("GET", "/v1/apps", {
      headers: { authorization: `Bearer ${app.serverKey}` },
    });
    assertEquals(serverOnAdmin.status, 401);
    assertStringIncludes(serverOnAdmin.body.error.message, "admin token (ADMIN_TOKEN)");
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/apps explains a SEC1 key with the openssl command, and literal \\n", async () => {
  const h = await startHarness();
  try {
    const key = await generateApnsKey();
    const create = (privateKey: string) =>
      h.call("POST", "/v1/apps", {
        headers: admin,
        body: {
          name: "x",
          bundleId: "com.x.y",
          apns: { teamId: "TEAM123456", keyId: "KEY1234567", privateKey },
        },
      });
    const sec1 = await create(
      key.privateKeyPem.replaceAll("PRIVATE KEY", "EC PRIVATE KEY"),
    );
    assertEquals(sec1.status, 400);
    assertStringIncludes(sec1.body.error.message, "openssl pkcs8 -topk8 -nocrypt -in key.pem");
    const escaped = await create(key.privateKeyPem.replaceAll("\n", "\\n"));
    assertEquals(escaped.status, 400);
    assertStringIncludes(escaped.body.error.message, "literal \\n sequences");
    const good = await create(key.privateKeyPem);
    assertEquals(good.status, 201);
  } finally {
    await h.stop();
  }
});

Deno.test("a JSON member upload over 1 MiB answers 413 pointing at the streamed upload", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const auth = { authorization: `Bearer ${app.serverKey}` };
    assertEquals(
      (await h.call("PUT", `/v1/apps/${app.appId}/segments/big`, {
        headers: auth,
        body: { name: "Big" },
      })).status,
      201,
    );
    const ids = Array.from({ length: 60_000 }, (_, i) => `user-with-a-long-id-${i}`);
    const res = await h.call("POST", `/v1/apps/${app.appId}/segments/big/members`, {
      headers: { ...auth, "content-type": "application/json" },
      raw: JSON.stringify({ add: ids }),
    });
    assertEquals(res.status, 413);
    assertEquals(res.body.error.code, "payload_too_large");
    assertStringIncludes(res.body.error.message, "Content-Type: text/plain");
    assertOk(res.body.error.message.includes("no size limit"));
  } finally {
    await h.stop();
  }
});
