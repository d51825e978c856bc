import { hmacSha256Hex } from "../../lib/auth/hmac.ts";
import { assertEquals, assertOk } from "../support/assert.ts";
import { startHarness } from "../support/harness.ts";
import {
  hexToken,
  isReachable,
  register,
  sdkHeaders,
  serverHeaders,
  viewInstallation,
} from "../support/installation_calls.ts";
import { assertRegistryInvariants, tokenEntry } from "../lib/registry/invariants.ts";

Deno.test("PATCH, DELETE and PUT user with a missing or wrong secret answer 401 and change nothing", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const r = await register(h, app, { token: hexToken(1), environment: "production" });
    const path = `/v1/sdk/installations/${r.body.installationId}`;
    const before = await viewInstallation(h, app, r.body.installationId);
    for (const secret of [undefined, "wrong"]) {
      const headers = sdkHeaders(app, secret);
      assertEquals(
        (await h.call("PATCH", path, { headers, body: { token: hexToken(2) } })).status,
        401,
      );
      assertEquals((await h.call("DELETE", path, { headers })).status, 401);
      const put = await h.call("PUT", `${path}/user`, { headers, body: { userId: "x" } });
      assertEquals(put.status, 401);
      assertEquals(put.body.error.code, "unauthorized");
      assertEquals((await h.call("DELETE", `${path}/user`, { headers })).status, 401);
    }
    assertEquals(await viewInstallation(h, app, r.body.installationId), before);
    const unknown = await h.call("PATCH", "/v1/sdk/installations/in_nope", {
      headers: sdkHeaders(app, "x"),
      body: {},
    });
    assertEquals(unknown.status, 404);
    const noKey = await h.call("POST", "/v1/sdk/installations", {
      body: { token: hexToken(3), environment: "production" },
    });
    assertEquals(noKey.status, 401);
  } finally {
    await h.stop();
  }
});

Deno.test("DELETE /v1/sdk/installations/:id marks it deleted and unindexes the token", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const r = await register(h, app, {
      token: hexToken(1),
      environment: "production",
      userId: "u",
    });
    const res = await h.call("DELETE", `/v1/sdk/installations/${r.body.installationId}`, {
      headers: sdkHeaders(app, r.body.installationSecret),
    });
    assertEquals(res.status, 200);
    assertEquals([res.body.status, res.body.token, res.body.userId], ["deleted", null, null]);
    assertEquals(await tokenEntry(h.testRedis.redis, app.appId, hexToken(1)), null);
    assertOk(!(await isReachable(h, app, r.body.installationId)));
    assertEquals((await viewInstallation(h, app, r.body.installationId)).status, "deleted");
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("GET/DELETE /v1/apps/:appId/users/:userId reads and erases a user; unknown → 404", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const other = await h.createTestApp();
    const a = await register(h, app, {
      token: hexToken(1),
      environment: "production",
      userId: "u",
    });
    await register(h, app, { token: hexToken(2), environment: "production", userId: "u" });
    const foreign = await h.call("GET", `/v1/apps/${app.appId}/users/u`, {
      headers: serverHeaders(other),
    });
    assertEquals(foreign.status, 403);
    const erased = await h.call("DELETE", `/v1/apps/${app.appId}/users/u`, {
      headers: serverHeaders(app),
    });
    assertEquals(erased.status, 204);
    const gone = await h.call("GET", `/v1/apps/${app.appId}/users/u`, {
      headers: serverHeaders(app),
    });
    assertEquals(gone.status, 404);
    assertEquals(gone.body.error.code, "not_found");
    const inst = await h.call(
      "GET",
      `/v1/apps/${app.appId}/installations/${a.body.installationId}`,
      {
        headers: serverHeaders(app),
      },
    );
    assertEquals(inst.status, 404);
    assertEquals(await tokenEntry(h.testRedis.redis, app.appId, hexToken(1)), null);
    const again = await h.call("DELETE", `/v1/apps/${app.appId}/users/u`, {
      headers: serverHeaders(app),
    });
    assertEquals(again.status, 404);
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/sdk/installations rejects invalid input with 400 and writes nothing", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const before = await h.testRedis.redis.dbsize();
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
    const cases: Record<string, unknown>[] = [
      { token: "abc", environment: "production" },
      { token: "a".repeat(63), environment: "production" },
      { token: "a".repeat(202), environment: "production" },
      { token: "g".repeat(64), environment: "production" },
      { token: hexToken(1) },
      { token: hexToken(1), environment: "staging" },
      { token: hexToken(1), environment: "production", surprise: 1 },
      { token: hexToken(1), environment: "production", userId: "u".repeat(129) },
      { token: hexToken(1), environment: "production", installationId: "i".repeat(65) },
      { token: hexToken(1), environment: "production", pushAuthorization: "maybe" },
      { token: hexToken(1), environment: "production", attributes: tooMany },
      { token: hexToken(1), environment: "production", attributes: { ["k".repeat(65)]: 1 } },
      { token: hexToken(1), environment: "production", attributes: { k: "v".repeat(257) } },
      { token: hexToken(1), environment: "production", attributes: { k: { nested: true } } },
      { token: hexToken(1), environment: "production", attributes: { appVersion: 2 } },
    ];
    for (const body of cases) {
      const res = await register(h, app, body);
      assertEquals(res.status, 400, JSON.stringify(body).slice(0, 80));
      assertEquals(res.body.error.code, "validation_failed");
      assertOk(res.body.error.details.length > 0);
    }
    const ok = await register(h, app, {
      token: hexToken(1),
      environment: "production",
      attributes: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"])),
    });
    assertEquals(ok.status, 201);
    assertOk(before < await h.testRedis.redis.dbsize());
    const badPatch = await h.call("PATCH", `/v1/sdk/installations/${ok.body.installationId}`, {
      headers: sdkHeaders(app, ok.body.installationSecret),
      body: { status: "active" },
    });
    assertEquals(badPatch.status, 400);
  } finally {
    await h.stop();
  }
});

Deno.test("userSignature is required for a userId when the app requires it (403 otherwise)", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp({ requireUserSignature: true });
    const sig = await hmacSha256Hex(app.userSigningSecret!, "u1");
    const before = await h.testRedis.redis.dbsize();
    const unsigned = await register(h, app, {
      token: hexToken(1),
      environment: "production",
      userId: "u1",
    });
    assertEquals(unsigned.status, 403);
    assertEquals(unsigned.body.error.code, "forbidden");
    const wrong = await register(h, app, {
      token: hexToken(1),
      environment: "production",
      userId: "u2",
      userSignature: sig,
    });
    assertEquals(wrong.status, 403);
    assertEquals(await h.testRedis.redis.dbsize(), before, "nothing written");
    const signed = await register(h, app, {
      token: hexToken(1),
      environment: "production",
      userId: "u1",
      userSignature: sig.toUpperCase(),
    });
    assertEquals(signed.status, 201);
    const path = `/v1/sdk/installations/${signed.body.installationId}`;
    const headers = sdkHeaders(app, signed.body.installationSecret);
    assertEquals(
      (await h.call("PUT", `${path}/user`, { headers, body: { userId: "u2" } })).status,
      403,
    );
    assertEquals((await h.call("PATCH", path, { headers, body: { userId: "u2" } })).status, 403);
    const sig2 = await hmacSha256Hex(app.userSigningSecret!, "u2");
    const put = await h.call("PUT", `${path}/user`, {
      headers,
      body: { userId: "u2", userSignature: sig2 },
    });
    assertEquals(put.status, 200);
    assertEquals(put.body.userId, "u2");
    // Without a userId no signature is needed.
    assertEquals(
      (await register(h, app, { token: hexToken(2), environment: "production" })).status,
      201,
    );
  } finally {
    await h.stop();
  }
});

Deno.test("GET /v1/apps/:appId/installations/:id needs the app's server key; unknown → 404", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const other = await h.createTestApp();
    const r = await register(h, app, { token: hexToken(1), environment: "production" });
    const path = `/v1/apps/${app.appId}/installations/${r.body.installationId}`;
    assertEquals((await h.call("GET", path)).status, 401);
    assertEquals((await h.call("GET", path, { headers: serverHeaders(other) })).status, 403);
    const missing = await h.call("GET", `/v1/apps/${app.appId}/installations/in_none`, {
      headers: serverHeaders(app),
    });
    assertEquals(missing.status, 404);
    // Another app's installation is invisible through this app.
    const cross = await h.call(
      "GET",
      `/v1/apps/${other.appId}/installations/${r.body.installationId}`,
      { headers: serverHeaders(other) },
    );
    assertEquals(cross.status, 404);
  } finally {
    await h.stop();
  }
});
