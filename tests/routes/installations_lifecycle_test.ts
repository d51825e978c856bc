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

Deno.test("POST /v1/sdk/installations first launch creates an installation (201) with a flat view", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const res = await register(h, app, {
      token: hexToken(1).toUpperCase(),
      environment: "production",
      attributes: { appVersion: "2.0.0", locale: "en_US", plan: "pro", score: 3, beta: true },
    });
    assertEquals(res.status, 201);
    assertEquals(Object.keys(res.body).sort(), ["installationId", "installationSecret"]);
    const got = await viewInstallation(h, app, res.body.installationId);
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
    assertEquals(got.token, hexToken(1), "normalised to lowercase");
    assertEquals(got.appId, app.appId);
    assertEquals(got.userId, null);
    assertEquals(got.status, "active");
    assertEquals(got.statusReason, null);
    assertEquals(got.pushAuthorization, "authorized");
    assertEquals(got.attributes.plan, "pro");
    assertOk(!Number.isNaN(Date.parse(got.registeredAt)) && got.registeredAt.endsWith("Z"));
    assertOk(await isReachable(h, app, res.body.installationId));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/sdk/installations refreshes with the secret (200) and rotates the token", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const first = await register(h, app, { token: hexToken(1), environment: "production" });
    const { installationId, installationSecret } = first.body;
    const again = await register(
      h,
      app,
      { installationId, token: hexToken(2), environment: "production" },
      installationSecret,
    );
    assertEquals(again.status, 200);
    assertEquals(again.body, { installationId, status: "active" });
    assertEquals(await tokenEntry(h.testRedis.redis, app.appId, hexToken(1)), null);
    assertEquals(
      await tokenEntry(h.testRedis.redis, app.appId, hexToken(2)),
      installationId,
    );
    assertEquals((await viewInstallation(h, app, installationId)).token, hexToken(2));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/sdk/installations moves a reused token to the new installation", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const old = await register(h, app, {
      token: hexToken(1),
      environment: "production",
      userId: "u",
    });
    const fresh = await register(h, app, { token: hexToken(1), environment: "production" });
    assertEquals(fresh.status, 201);
    const oldView = await viewInstallation(h, app, old.body.installationId);
    assertEquals(oldView.status, "replaced");
    assertEquals(oldView.token, null);
    assertOk(!(await isReachable(h, app, old.body.installationId)));
    assertOk(await isReachable(h, app, fresh.body.installationId));
    assertEquals(
      await tokenEntry(h.testRedis.redis, app.appId, hexToken(1)),
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
    const original = await register(h, app, { token: hexToken(1), environment: "production" });
    const id = original.body.installationId;
    const before = await viewInstallation(h, app, id);
    for (const secret of [undefined, "wrong"]) {
      const restored = await register(
        h,
        app,
        { installationId: id, token: hexToken(2), environment: "production" },
        secret,
      );
      assertEquals(restored.status, 201);
      assertEquals(restored.body.reason, "restored");
      assertOk(restored.body.installationId !== id);
      assertOk(restored.body.installationSecret);
      assertEquals(await viewInstallation(h, app, id), before, "the original is untouched");
      // The new device uses its own token; restoring the same token would move it (covered above).
      await h.call("DELETE", `/v1/sdk/installations/${restored.body.installationId}`, {
        headers: sdkHeaders(app, restored.body.installationSecret),
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
      token: hexToken(1),
      environment: "production",
      userId: "u1",
    });
    const tablet = await register(h, app, {
      token: hexToken(2),
      environment: "development",
      userId: "u1",
    });
    const res = await h.call("GET", `/v1/apps/${app.appId}/users/u1`, {
      headers: serverHeaders(app),
    });
    assertEquals(res.status, 200);
    assertEquals(res.body.userId, "u1");
    assertEquals(
      res.body.installations.map((i: { installationId: string }) => i.installationId).sort(),
      [phone.body.installationId, tablet.body.installationId].sort(),
    );
    assertOk(await isReachable(h, app, phone.body.installationId, "production"));
    assertOk(await isReachable(h, app, tablet.body.installationId, "development"));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("DELETE /v1/sdk/installations/:id/user logs out and keeps the installation reachable", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const r = await register(h, app, {
      token: hexToken(1),
      environment: "production",
      userId: "u1",
    });
    const path = `/v1/sdk/installations/${r.body.installationId}/user`;
    const denied = await h.call("DELETE", path, { headers: sdkHeaders(app, "wrong") });
    assertEquals(denied.status, 401);
    const out = await h.call("DELETE", path, {
      headers: sdkHeaders(app, r.body.installationSecret),
    });
    assertEquals(out.status, 200);
    assertEquals(out.body.userId, null);
    assertEquals(out.body.status, "active");
    assertOk(await isReachable(h, app, r.body.installationId));
    const user = await h.call("GET", `/v1/apps/${app.appId}/users/u1`, {
      headers: serverHeaders(app),
    });
    assertEquals(user.status, 404);
    const bound = await h.call("PUT", path, {
      headers: sdkHeaders(app, r.body.installationSecret),
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
    const r = await register(h, app, { token: hexToken(1), environment: "production" });
    const path = `/v1/sdk/installations/${r.body.installationId}`;
    const res = await h.call("PATCH", path, {
      headers: sdkHeaders(app, r.body.installationSecret),
      body: { pushAuthorization: "denied", attributes: { osVersion: "18.1" } },
    });
    assertEquals(res.status, 200);
    assertEquals(res.body.pushAuthorization, "denied");
    assertEquals(res.body.attributes, { osVersion: "18.1" });
    assertOk(!(await isReachable(h, app, r.body.installationId)));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
    const env = await h.call("PATCH", path, {
      headers: sdkHeaders(app, r.body.installationSecret),
      body: { pushAuthorization: "authorized", environment: "development" },
    });
    assertEquals(env.status, 200);
    assertOk(await isReachable(h, app, r.body.installationId, "development"));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("uninstall: APNs Unregistered marks the installation only after registeredAt", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const r = await register(h, app, { token: hexToken(1), environment: "production" });
    const id = r.body.installationId;
    const registeredAt = Date.parse((await viewInstallation(h, app, id)).registeredAt);
    const registry = h.services.registry;
    assertEquals(
      await registry.markUnregistered(app.appId, id, hexToken(1), registeredAt - 1000),
      false,
    );
    assertEquals((await viewInstallation(h, app, id)).status, "active");
    assertEquals(
      await registry.markUnregistered(app.appId, id, hexToken(1), registeredAt + 1000),
      true,
    );
    const v = await viewInstallation(h, app, id);
    assertEquals([v.status, v.statusReason], ["unregistered", "Unregistered"]);
    assertOk(!(await isReachable(h, app, id)));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("wrong environment: corrected on success, bad_token otherwise", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const a = await register(h, app, { token: hexToken(1), environment: "production" });
    const b = await register(h, app, { token: hexToken(2), environment: "development" });
    const registry = h.services.registry;
    assertOk(
      await registry.correctEnvironment(
        app.appId,
        a.body.installationId,
        hexToken(1),
        "development",
      ),
    );
    assertEquals(
      (await viewInstallation(h, app, a.body.installationId)).environment,
      "development",
    );
    assertOk(await isReachable(h, app, a.body.installationId, "development"));
    assertOk(!(await isReachable(h, app, a.body.installationId, "production")));
    assertOk(
      await registry.markBadToken(app.appId, b.body.installationId, hexToken(2), "BadDeviceToken"),
    );
    const bad = await viewInstallation(h, app, b.body.installationId);
    assertEquals([bad.status, bad.statusReason], ["bad_token", "BadDeviceToken"]);
    assertOk(!(await isReachable(h, app, b.body.installationId, "development")));
    await assertRegistryInvariants(h.testRedis.redis, app.appId);
  } finally {
    await h.stop();
  }
});

Deno.test("PATCH /v1/sdk/installations/:id merges attributes; null removes one; past 50 keys is a 400", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const created = await register(h, app, {
      token: hexToken(1),
      environment: "production",
      attributes: { appVersion: "2.5.0", osVersion: "18.1", plan: "pro" },
    });
    const { installationId: id, installationSecret: secret } = created.body;
    const patched = await h.call("PATCH", `/v1/sdk/installations/${id}`, {
      headers: sdkHeaders(app, secret),
      body: { attributes: { appVersion: "2.6.0", plan: null } },
    });
    assertEquals(patched.status, 200);
    assertEquals(patched.body.attributes, { appVersion: "2.6.0", osVersion: "18.1" });
    const many = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, i]));
    const over = await h.call("PATCH", `/v1/sdk/installations/${id}`, {
      headers: sdkHeaders(app, secret),
      body: { attributes: many },
    });
    assertEquals(over.status, 400);
    assertEquals(over.body.error.details[0].path, "attributes");
    assertEquals((await viewInstallation(h, app, id)).attributes, {
      appVersion: "2.6.0",
      osVersion: "18.1",
    });
  } finally {
    await h.stop();
  }
});
