import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { ADMIN_TOKEN, startHarness } from "../support/harness.ts";
import { Forbidden, Unauthorized } from "../../lib/errors.ts";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function keyCount(h: Awaited<ReturnType<typeof startHarness>>) {
  return (await h.testRedis.redis.dbsize());
}

Deno.test("POST /v1/apps creates an app and shows secrets once", async () => {
  const h = await startHarness();
  try {
    const created = await h.createTestApp({ requireUserSignature: true });
    assertOk(created.appId.startsWith("app_"));
    assertOk(created.serverKey.startsWith("sk_"));
    assertOk(created.userSigningSecret);
    const got = await h.call("GET", `/v1/apps/${created.appId}`, { headers: admin });
    assertEquals(got.status, 200);
    assertEquals(got.body.bundleId, "com.example.app");
    assertEquals(got.body.apns, { teamId: "TEAM123456", keyId: "KEY1234567" });
    const text = JSON.stringify(got.body);
    assertOk(!text.includes("PRIVATE KEY"), "private key must never be returned");
    assertOk(!text.includes(created.serverKey), "server key must never be returned");
    assertOk(!text.includes(created.userSigningSecret!), "signing secret must not be returned");
    // The key is stored sealed, not in clear.
    const raw = await h.testRedis.redis.hgetall<Record<string, string>>(
      `ep:v1:{${created.appId}}:app`,
    );
    assertOk(!JSON.stringify(raw).includes("PRIVATE KEY"));
    assertOk(!JSON.stringify(raw).includes(created.serverKey));
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/apps rejects bad input and writes nothing", async () => {
  const h = await startHarness();
  try {
    const before = await keyCount(h);
    const malformed = await h.call("POST", "/v1/apps", {
      headers: { ...admin, "content-type": "application/json" },
      raw: "{not json",
    });
    assertEquals(malformed.status, 400);
    assertEquals(malformed.body.error.code, "validation_failed");

    const unknown = await h.call("POST", "/v1/apps", {
      headers: admin,
      body: { name: "x", bundleId: "com.x.y", apns: {}, surprise: true },
    });
    assertEquals(unknown.status, 400);
    assertOk(unknown.body.error.details.length > 0);

    const badPem = await h.call("POST", "/v1/apps", {
      headers: admin,
      body: {
        name: "x",
        bundleId: "com.x.y",
        apns: { teamId: "TEAM123456", keyId: "KEY1234567", privateKey: "x".repeat(200) },
      },
    });
    assertEquals(badPem.status, 400);
    assertStringIncludes(badPem.body.error.message, "privateKey");

    const huge = await h.call("POST", "/v1/apps", {
      headers: { ...admin, "content-type": "application/json" },
      raw: JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) }),
    });
    assertEquals(huge.status, 413);
    assertEquals(huge.body.error.code, "payload_too_large");

    const noAuth = await h.call("POST", "/v1/apps", { body: { name: "x" } });
    assertEquals(noAuth.status, 401);
    assertEquals(await keyCount(h), before);
  } finally {
    await h.stop();
  }
});

Deno.test("server keys: rotation revokes the old key; another app's key is refused", async () => {
  const h = await startHarness();
  try {
    const a = await h.createTestApp();
    const b = await h.createTestApp();
    const rotated = await h.call("POST", `/v1/apps/${a.appId}/server-keys`, { headers: admin });
    assertEquals(rotated.status, 201);
    assertOk(rotated.body.serverKey !== a.serverKey);
    const auth = h.services.apps;
    await auth.authenticateServer(a.appId, rotated.body.serverKey);
    const refusal = (key: string) =>
      auth.authenticateServer(a.appId, key).then(() => null, (e) => e);
    assertOk((await refusal(a.serverKey)) instanceof Unauthorized);
    assertOk((await refusal(b.serverKey)) instanceof Forbidden);
  } finally {
    await h.stop();
  }
});

Deno.test("PATCH and DELETE /v1/apps/:appId", async () => {
  const h = await startHarness();
  try {
    const a = await h.createTestApp();
    const patched = await h.call("PATCH", `/v1/apps/${a.appId}`, {
      headers: admin,
      body: { name: "Renamed", requireUserSignature: true },
    });
    assertEquals(patched.status, 200);
    assertEquals(patched.body.name, "Renamed");
    assertOk(patched.body.userSigningSecret, "enabling signatures issues a secret once");
    const del = await h.call("DELETE", `/v1/apps/${a.appId}`, { headers: admin });
    assertEquals(del.status, 204);
    const gone = await h.call("GET", `/v1/apps/${a.appId}`, { headers: admin });
    assertEquals(gone.status, 404);
    assertEquals(gone.body.error.code, "not_found");
    assertEquals(await keyCount(h), 0);
  } finally {
    await h.stop();
  }
});

Deno.test("an app id edgepush never issued is 404 on every admin route; an impossible one 400", async () => {
  const h = await startHarness();
  try {
    for (const id of ["does-not-exist", "app_000000000000000000000000"]) {
      for (
        const [method, path] of [["GET", ""], ["PATCH", ""], ["DELETE", ""], [
          "POST",
          "/server-keys",
        ]]
      ) {
        const body = method === "PATCH" ? { name: "x" } : undefined;
        const res = await h.call(method, `/v1/apps/${id}${path}`, { headers: admin, body });
        assertEquals(res.status, 404, `${method} ${id}${path}: ${JSON.stringify(res.body)}`);
        assertEquals(res.body.error.code, "not_found");
      }
    }
    for (const id of ["x".repeat(65), "a.b"]) {
      const res = await h.call("GET", `/v1/apps/${id}`, { headers: admin });
      assertEquals(res.status, 400, id);
      assertEquals(res.body.error.code, "validation_failed");
    }
    assertEquals(await keyCount(h), 0);
  } finally {
    await h.stop();
  }
});
