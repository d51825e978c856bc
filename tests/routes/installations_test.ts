import { hmacSha256Hex } from "../../lib/auth/hmac.ts";
import { registryKeys } from "../../lib/registry/mod.ts";
import { assertEquals, assertOk } from "../support/assert.ts";
import { type Harness, startHarness, type TestApp } from "../support/harness.ts";
import { assertRegistryInvariants } from "../lib/registry/invariants.ts";

const tok = (n: number) => n.toString(16).padStart(64, "0");

function sdk(app: TestApp, secret?: string) {
  return {
    "x-app-key": app.appKey,
    ...(secret ? { authorization: `Bearer ${secret}` } : {}),
  };
}

function server(app: TestApp) {
  return { authorization: `Bearer ${app.serverKey}` };
}

async function register(h: Harness, app: TestApp, body: Record<string, unknown>, secret?: string) {
  return await h.call("POST", "/v1/sdk/installations", { headers: sdk(app, secret), body });
}

async function view(h: Harness, app: TestApp, id: string) {
  const res = await h.call("GET", `/v1/apps/${app.appId}/installations/${id}`, {
    headers: server(app),
  });
  assertEquals(res.status, 200);
  return res.body;
}

async function inReach(h: Harness, app: TestApp, id: string, env = "production") {
  return await h.testRedis.redis.sismember(
    registryKeys.reachable(app.appId, env as "production"),
    id,
  ) === 1;
}

Deno.test("POST /v1/sdk/installations first launch creates an installation (201) with a flat view", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const res = await register(h, app, {
      token: tok(1).toUpperCase(),
      environment: "production",
      attributes: { appVersion: "2.0.0", locale: "en_US", plan: "pro", score: 3, beta: true },
    });
    assertEquals(res.status, 201);
    assertEquals(Object.keys(res.body).sort(), ["installationId", "installationSecret"]);
    const got = await view(h, app, res.body.installationId);
    assertEquals(Object.keys(got).sort(), [
      "appId",
      "attributes",
      "environment",
      "installationId",
      "lastSeenAt",
      "pushAuthorization",
      "registeredAt",
      "status",
      "statusAt",
      "statusReason",
      "token",
      "userId",
    ]);
    assertEquals(got.token, tok(1), "normalised to lowercase");
    assertEquals(got.appId, app.appId);
    assertEquals(got.userId, null);
    assertEquals(got.status, "active");
    assertEquals(got.statusReason, null);
    assertEquals(got.pushAuthorization, "authorized");
    assertEquals(got.attributes.plan, "pro");
    assertOk(!Number.isNaN(Date.parse(got.registeredAt)) && got.registeredAt.endsWith("Z"));
    assertOk(await inReach(h, app, res.body.installationId));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/sdk/installations refreshes with the secret (200) and rotates the token", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const first = await register(h, app, { token: tok(1), environment: "production" });
    const { installationId, installationSecret } = first.body;
    const again = await register(
      h,
      app,
      { installationId, token: tok(2), environment: "production" },
      installationSecret,
    );
    assertEquals(again.status, 200);
    assertEquals(again.body, { installationId, status: "active" });
    assertEquals(await h.testRedis.redis.get(registryKeys.token(app.appId, tok(1))), null);
    assertEquals(
      await h.testRedis.redis.get(registryKeys.token(app.appId, tok(2))),
      installationId,
    );
    assertEquals((await view(h, app, installationId)).token, tok(2));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/sdk/installations moves a reused token to the new installation", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const old = await register(h, app, { token: tok(1), environment: "production", userId: "u" });
    const fresh = await register(h, app, { token: tok(1), environment: "production" });
    assertEquals(fresh.status, 201);
    const oldView = await view(h, app, old.body.installationId);
    assertEquals(oldView.status, "replaced");
    assertEquals(oldView.token, null);
    assertOk(!(await inReach(h, app, old.body.installationId)));
    assertOk(await inReach(h, app, fresh.body.installationId));
    assertEquals(
      await h.testRedis.redis.get(registryKeys.token(app.appId, tok(1))),
      fresh.body.installationId,
    );
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/sdk/installations restored from backup without the secret issues a new installation", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const original = await register(h, app, { token: tok(1), environment: "production" });
    const id = original.body.installationId;
    const before = await view(h, app, id);
    for (const secret of [undefined, "wrong"]) {
      const restored = await register(
        h,
        app,
        { installationId: id, token: tok(2), environment: "production" },
        secret,
      );
      assertEquals(restored.status, 201);
      assertEquals(restored.body.reason, "restored");
      assertOk(restored.body.installationId !== id);
      assertOk(restored.body.installationSecret);
      assertEquals(await view(h, app, id), before, "the original is untouched");
      // The new device uses its own token; restoring the same token would move it (covered above).
      await h.call("DELETE", `/v1/sdk/installations/${restored.body.installationId}`, {
        headers: sdk(app, restored.body.installationSecret),
      });
    }
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("a new device for the same user: the user has both installations", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const phone = await register(h, app, {
      token: tok(1),
      environment: "production",
      userId: "u1",
    });
    const tablet = await register(h, app, {
      token: tok(2),
      environment: "development",
      userId: "u1",
    });
    const res = await h.call("GET", `/v1/apps/${app.appId}/users/u1`, { headers: server(app) });
    assertEquals(res.status, 200);
    assertEquals(res.body.userId, "u1");
    assertEquals(
      res.body.installations.map((i: { installationId: string }) => i.installationId).sort(),
      [phone.body.installationId, tablet.body.installationId].sort(),
    );
    assertOk(await inReach(h, app, phone.body.installationId, "production"));
    assertOk(await inReach(h, app, tablet.body.installationId, "development"));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("DELETE /v1/sdk/installations/:id/user logs out and keeps the installation reachable", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const r = await register(h, app, { token: tok(1), environment: "production", userId: "u1" });
    const path = `/v1/sdk/installations/${r.body.installationId}/user`;
    const denied = await h.call("DELETE", path, { headers: sdk(app, "wrong") });
    assertEquals(denied.status, 401);
    const out = await h.call("DELETE", path, { headers: sdk(app, r.body.installationSecret) });
    assertEquals(out.status, 200);
    assertEquals(out.body.userId, null);
    assertEquals(out.body.status, "active");
    assertOk(await inReach(h, app, r.body.installationId));
    const user = await h.call("GET", `/v1/apps/${app.appId}/users/u1`, { headers: server(app) });
    assertEquals(user.status, 404);
    const bound = await h.call("PUT", path, {
      headers: sdk(app, r.body.installationSecret),
      body: { userId: "u2" },
    });
    assertEquals(bound.status, 200);
    assertEquals(bound.body.userId, "u2");
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("PATCH /v1/sdk/installations/:id with pushAuthorization denied leaves the reachable set", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const r = await register(h, app, { token: tok(1), environment: "production" });
    const path = `/v1/sdk/installations/${r.body.installationId}`;
    const res = await h.call("PATCH", path, {
      headers: sdk(app, r.body.installationSecret),
      body: { pushAuthorization: "denied", attributes: { osVersion: "18.1" } },
    });
    assertEquals(res.status, 200);
    assertEquals(res.body.pushAuthorization, "denied");
    assertEquals(res.body.attributes, { osVersion: "18.1" });
    assertOk(!(await inReach(h, app, r.body.installationId)));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
    const env = await h.call("PATCH", path, {
      headers: sdk(app, r.body.installationSecret),
      body: { pushAuthorization: "authorized", environment: "development" },
    });
    assertEquals(env.status, 200);
    assertOk(await inReach(h, app, r.body.installationId, "development"));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("uninstall: APNs Unregistered marks the installation only after registeredAt", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const r = await register(h, app, { token: tok(1), environment: "production" });
    const id = r.body.installationId;
    const registeredAt = Date.parse((await view(h, app, id)).registeredAt);
    const registry = h.services.registry;
    assertEquals(
      await registry.markUnregistered(app.appId, id, tok(1), registeredAt - 1000),
      false,
    );
    assertEquals((await view(h, app, id)).status, "active");
    assertEquals(await registry.markUnregistered(app.appId, id, tok(1), registeredAt + 1000), true);
    const v = await view(h, app, id);
    assertEquals([v.status, v.statusReason], ["unregistered", "Unregistered"]);
    assertOk(!(await inReach(h, app, id)));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("wrong environment: corrected on success, bad_token otherwise", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const a = await register(h, app, { token: tok(1), environment: "production" });
    const b = await register(h, app, { token: tok(2), environment: "development" });
    const registry = h.services.registry;
    assertOk(
      await registry.correctEnvironment(app.appId, a.body.installationId, tok(1), "development"),
    );
    assertEquals((await view(h, app, a.body.installationId)).environment, "development");
    assertOk(await inReach(h, app, a.body.installationId, "development"));
    assertOk(!(await inReach(h, app, a.body.installationId, "production")));
    assertOk(
      await registry.markBadToken(app.appId, b.body.installationId, tok(2), "BadDeviceToken"),
    );
    const bad = await view(h, app, b.body.installationId);
    assertEquals([bad.status, bad.statusReason], ["bad_token", "BadDeviceToken"]);
    assertOk(!(await inReach(h, app, b.body.installationId, "development")));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("PATCH, DELETE and PUT user with a missing or wrong secret answer 401 and change nothing", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const r = await register(h, app, { token: tok(1), environment: "production" });
    const path = `/v1/sdk/installations/${r.body.installationId}`;
    const before = await view(h, app, r.body.installationId);
    for (const secret of [undefined, "wrong"]) {
      const headers = sdk(app, secret);
      assertEquals(
        (await h.call("PATCH", path, { headers, body: { token: tok(2) } })).status,
        401,
      );
      assertEquals((await h.call("DELETE", path, { headers })).status, 401);
      const put = await h.call("PUT", `${path}/user`, { headers, body: { userId: "x" } });
      assertEquals(put.status, 401);
      assertEquals(put.body.error.code, "unauthorized");
      assertEquals((await h.call("DELETE", `${path}/user`, { headers })).status, 401);
    }
    assertEquals(await view(h, app, r.body.installationId), before);
    const unknown = await h.call("PATCH", "/v1/sdk/installations/in_nope", {
      headers: sdk(app, "x"),
      body: {},
    });
    assertEquals(unknown.status, 404);
    const noKey = await h.call("POST", "/v1/sdk/installations", {
      body: { token: tok(3), environment: "production" },
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
    const r = await register(h, app, { token: tok(1), environment: "production", userId: "u" });
    const res = await h.call("DELETE", `/v1/sdk/installations/${r.body.installationId}`, {
      headers: sdk(app, r.body.installationSecret),
    });
    assertEquals(res.status, 200);
    assertEquals([res.body.status, res.body.token, res.body.userId], ["deleted", null, null]);
    assertEquals(await h.testRedis.redis.get(registryKeys.token(app.appId, tok(1))), null);
    assertOk(!(await inReach(h, app, r.body.installationId)));
    assertEquals((await view(h, app, r.body.installationId)).status, "deleted");
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
    const a = await register(h, app, { token: tok(1), environment: "production", userId: "u" });
    await register(h, app, { token: tok(2), environment: "production", userId: "u" });
    const foreign = await h.call("GET", `/v1/apps/${app.appId}/users/u`, {
      headers: server(other),
    });
    assertEquals(foreign.status, 403);
    const erased = await h.call("DELETE", `/v1/apps/${app.appId}/users/u`, {
      headers: server(app),
    });
    assertEquals(erased.status, 204);
    const gone = await h.call("GET", `/v1/apps/${app.appId}/users/u`, { headers: server(app) });
    assertEquals(gone.status, 404);
    assertEquals(gone.body.error.code, "not_found");
    const inst = await h.call(
      "GET",
      `/v1/apps/${app.appId}/installations/${a.body.installationId}`,
      {
        headers: server(app),
      },
    );
    assertEquals(inst.status, 404);
    assertEquals(await h.testRedis.redis.get(registryKeys.token(app.appId, tok(1))), null);
    const again = await h.call("DELETE", `/v1/apps/${app.appId}/users/u`, { headers: server(app) });
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
      { token: tok(1) },
      { token: tok(1), environment: "staging" },
      { token: tok(1), environment: "production", surprise: 1 },
      { token: tok(1), environment: "production", userId: "u".repeat(129) },
      { token: tok(1), environment: "production", installationId: "i".repeat(65) },
      { token: tok(1), environment: "production", pushAuthorization: "maybe" },
      { token: tok(1), environment: "production", attributes: tooMany },
      { token: tok(1), environment: "production", attributes: { ["k".repeat(65)]: 1 } },
      { token: tok(1), environment: "production", attributes: { k: "v".repeat(257) } },
      { token: tok(1), environment: "production", attributes: { k: { nested: true } } },
      { token: tok(1), environment: "production", attributes: { appVersion: 2 } },
    ];
    for (const body of cases) {
      const res = await register(h, app, body);
      assertEquals(res.status, 400, JSON.stringify(body).slice(0, 80));
      assertEquals(res.body.error.code, "validation_failed");
      assertOk(res.body.error.details.length > 0);
    }
    const ok = await register(h, app, {
      token: tok(1),
      environment: "production",
      attributes: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"])),
    });
    assertEquals(ok.status, 201);
    assertOk(before < await h.testRedis.redis.dbsize());
    const badPatch = await h.call("PATCH", `/v1/sdk/installations/${ok.body.installationId}`, {
      headers: sdk(app, ok.body.installationSecret),
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
      token: tok(1),
      environment: "production",
      userId: "u1",
    });
    assertEquals(unsigned.status, 403);
    assertEquals(unsigned.body.error.code, "forbidden");
    const wrong = await register(h, app, {
      token: tok(1),
      environment: "production",
      userId: "u2",
      userSignature: sig,
    });
    assertEquals(wrong.status, 403);
    assertEquals(await h.testRedis.redis.dbsize(), before, "nothing written");
    const signed = await register(h, app, {
      token: tok(1),
      environment: "production",
      userId: "u1",
      userSignature: sig.toUpperCase(),
    });
    assertEquals(signed.status, 201);
    const path = `/v1/sdk/installations/${signed.body.installationId}`;
    const headers = sdk(app, signed.body.installationSecret);
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
      (await register(h, app, { token: tok(2), environment: "production" })).status,
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
    const r = await register(h, app, { token: tok(1), environment: "production" });
    const path = `/v1/apps/${app.appId}/installations/${r.body.installationId}`;
    assertEquals((await h.call("GET", path)).status, 401);
    assertEquals((await h.call("GET", path, { headers: server(other) })).status, 403);
    const missing = await h.call("GET", `/v1/apps/${app.appId}/installations/in_none`, {
      headers: server(app),
    });
    assertEquals(missing.status, 404);
    // Another app's installation is invisible through this app.
    const cross = await h.call(
      "GET",
      `/v1/apps/${other.appId}/installations/${r.body.installationId}`,
      { headers: server(other) },
    );
    assertEquals(cross.status, 404);
  } finally {
    await h.stop();
  }
});
