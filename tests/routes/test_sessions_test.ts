import { testSessionKeys } from "../../lib/test_sessions/_keys.ts";
import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { type Harness, startHarness, type TestApp } from "../support/harness.ts";
import { startMockApns } from "../support/mock_apns.ts";
import { waitFor } from "../support/redis_server.ts";

const server = (app: TestApp) => ({ authorization: `Bearer ${app.serverKey}` });

async function createSession(h: Harness, app: TestApp) {
  const res = await h.call("POST", `/v1/apps/${app.appId}/test-sessions`, {
    headers: server(app),
    body: {},
  });
  assertEquals(res.status, 201, JSON.stringify(res.body));
  return res.body as { code: string; deepLink: string; qrSvg: string; expiresAt: string };
}

Deno.test("POST /v1/apps/:appId/test-sessions returns a code, deep link, QR code and expiry", async () => {
  let clock = Date.UTC(2025, 0, 1);
  const h = await startHarness({ services: { now: () => clock } });
  try {
    const app = await h.createTestApp();
    const session = await createSession(h, app);
    assertOk(/^[0-9A-HJKMNP-TV-Z]{12}$/.test(session.code), session.code);
    assertEquals(session.deepLink, `exampleapp://edgepush/test-session?code=${session.code}`);
    assertOk(session.qrSvg.startsWith("<svg"));
    assertEquals(session.expiresAt, new Date(clock + 600_000).toISOString());
    const ttl = await h.services.redis.pttl(testSessionKeys.session(app.appId, session.code));
    assertOk(ttl > 0 && ttl <= 600_000, String(ttl));
    clock += 1;
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/apps/:appId/test-sessions rejects unknown fields and needs the app's server key", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const other = await h.createTestApp();
    const path = `/v1/apps/${app.appId}/test-sessions`;
    const extra = await h.call("POST", path, { headers: server(app), body: { ttl: 5 } });
    assertEquals(extra.status, 400);
    assertEquals(extra.body.error.code, "validation_failed");
    assertEquals((await h.call("POST", path, { body: {} })).status, 401);
    assertEquals((await h.call("POST", path, { headers: server(other), body: {} })).status, 403);
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/apps/:appId/test-sessions answers 409 when the app has no urlScheme", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp({ urlScheme: undefined });
    const res = await h.call("POST", `/v1/apps/${app.appId}/test-sessions`, {
      headers: server(app),
      body: {},
    });
    assertEquals(res.status, 409);
    assertEquals(res.body.error.code, "conflict");
    assertStringIncludes(res.body.error.message, "urlScheme");
  } finally {
    await h.stop();
  }
});

Deno.test("GET /v1/apps/:appId/test-sessions/:code: 404 unknown, 410 expired, invisible to other apps", async () => {
  let clock = Date.now();
  const h = await startHarness({ services: { now: () => clock } });
  try {
    const app = await h.createTestApp();
    const other = await h.createTestApp();
    const { code } = await createSession(h, app);
    const fresh = await h.call("GET", `/v1/apps/${app.appId}/test-sessions/${code}`, {
      headers: server(app),
    });
    assertEquals(fresh.status, 200);
    assertEquals(fresh.body.devices, []);
    const foreign = await h.call("GET", `/v1/apps/${other.appId}/test-sessions/${code}`, {
      headers: server(other),
    });
    assertEquals(foreign.status, 404);
    const unknown = await h.call("GET", `/v1/apps/${app.appId}/test-sessions/0000000000AA`, {
      headers: server(app),
    });
    assertEquals(unknown.status, 404);
    const malformed = await h.call("GET", `/v1/apps/${app.appId}/test-sessions/nope`, {
      headers: server(app),
    });
    assertEquals(malformed.status, 400);
    clock += 600_000;
    const expired = await h.call("GET", `/v1/apps/${app.appId}/test-sessions/${code}`, {
      headers: server(app),
    });
    assertEquals(expired.status, 410);
    assertEquals(expired.body.error.code, "gone");
  } finally {
    await h.stop();
  }
});

Deno.test("GET /v1/apps/:appId/test-sessions/:code answers 410 after Redis expired the session", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const { code } = await createSession(h, app);
    // Simulate the TTL running out (the tombstone stays), without waiting 10 minutes.
    await h.services.redis.pexpire(testSessionKeys.session(app.appId, code), 1);
    await waitFor(
      async () => (await h.services.redis.exists(testSessionKeys.session(app.appId, code))) === 0,
      { what: "the session to expire" },
    );
    const res = await h.call("GET", `/v1/apps/${app.appId}/test-sessions/${code}`, {
      headers: server(app),
    });
    assertEquals(res.status, 410);
  } finally {
    await h.stop();
  }
});

let tokenSeq = 0;
async function register(
  h: Harness,
  app: TestApp,
  body: Record<string, unknown> = {},
): Promise<{ installationId: string; installationSecret: string; token: string }> {
  const token = (++tokenSeq).toString(16).padStart(64, "a");
  const res = await h.call("POST", "/v1/sdk/installations", {
    headers: { "x-app-key": app.appKey },
    body: { token, environment: "development", ...body },
  });
  assertEquals(res.status, 201, JSON.stringify(res.body));
  return { ...res.body, token };
}

function bind(
  h: Harness,
  app: TestApp,
  code: string,
  installationId: string,
  secret?: string,
) {
  return h.call("POST", `/v1/sdk/test-sessions/${code}/devices`, {
    headers: {
      "x-app-key": app.appKey,
      ...(secret ? { authorization: `Bearer ${secret}` } : {}),
    },
    body: { installationId },
  });
}

Deno.test("POST /v1/sdk/test-sessions/:code/devices binds the installation; GET lists it", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const { code, expiresAt } = await createSession(h, app);
    const inst = await register(h, app, {
      attributes: { deviceModel: "iPhone16,1", osVersion: "18.2" },
    });
    const res = await bind(h, app, code, inst.installationId, inst.installationSecret);
    assertEquals(res.status, 200, JSON.stringify(res.body));
    assertEquals(res.body, { code, installationId: inst.installationId, expiresAt });
    const again = await bind(h, app, code, inst.installationId, inst.installationSecret);
    assertEquals(again.status, 200);
    // Typed back by hand: any case, hyphenated groups, O for 0 and I/L for 1 all name it.
    const typed = `${code.slice(0, 6)}-${code.slice(6)}`.toLowerCase()
      .replaceAll("0", "o").replaceAll("1", "l");
    const byHand = await bind(h, app, typed, inst.installationId, inst.installationSecret);
    assertEquals([byHand.status, byHand.body.code], [200, code]);
    const view = await h.call("GET", `/v1/apps/${app.appId}/test-sessions/${code}`, {
      headers: server(app),
    });
    assertEquals(view.body, {
      code,
      expiresAt,
      devices: [{
        installationId: inst.installationId,
        deviceModel: "iPhone16,1",
        osVersion: "18.2",
        environment: "development",
      }],
    });
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/sdk/test-sessions/:code/devices answers 401 for a missing or wrong secret", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const { code } = await createSession(h, app);
    const inst = await register(h, app);
    const other = await register(h, app);
    const missing = await bind(h, app, code, inst.installationId);
    assertEquals(missing.status, 401);
    const wrong = await bind(h, app, code, inst.installationId, other.installationSecret);
    assertEquals(wrong.status, 401);
    const noKey = await h.call("POST", `/v1/sdk/test-sessions/${code}/devices`, {
      headers: { authorization: `Bearer ${inst.installationSecret}` },
      body: { installationId: inst.installationId },
    });
    assertEquals(noKey.status, 401);
    const view = await h.call("GET", `/v1/apps/${app.appId}/test-sessions/${code}`, {
      headers: server(app),
    });
    assertEquals(view.body.devices, []);
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/sdk/test-sessions/:code/devices answers 409 for an installation pushes no longer reach", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const { code } = await createSession(h, app);
    const inst = await register(h, app);
    const sdk = { "x-app-key": app.appKey, authorization: `Bearer ${inst.installationSecret}` };
    const gone = await h.call("DELETE", `/v1/sdk/installations/${inst.installationId}`, {
      headers: sdk,
    });
    assertEquals(gone.status, 200);
    const res = await bind(h, app, code, inst.installationId, inst.installationSecret);
    assertEquals(res.status, 409);
    assertStringIncludes(res.body.error.message, "deleted");
    const view = await h.call("GET", `/v1/apps/${app.appId}/test-sessions/${code}`, {
      headers: server(app),
    });
    assertEquals(view.body.devices, []);
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/sdk/test-sessions/:code/devices: 404 for another app's code or an unknown one, 410 once expired", async () => {
  let clock = Date.now();
  const h = await startHarness({ services: { now: () => clock } });
  try {
    const app = await h.createTestApp();
    const other = await h.createTestApp();
    const { code } = await createSession(h, app);
    const foreign = await register(h, other);
    const res = await bind(h, other, code, foreign.installationId, foreign.installationSecret);
    assertEquals(res.status, 404);
    const inst = await register(h, app);
    const unknown = await bind(
      h,
      app,
      "0000000000AA",
      inst.installationId,
      inst.installationSecret,
    );
    assertEquals(unknown.status, 404);
    clock += 600_000;
    const expired = await bind(h, app, code, inst.installationId, inst.installationSecret);
    assertEquals(expired.status, 410);
    assertEquals(expired.body.error.code, "gone");
  } finally {
    await h.stop();
  }
});

Deno.test("POST /v1/apps/:appId/test-sessions/:code/sends pushes a preview to the bound development device", async () => {
  const mock = await startMockApns();
  const h = await startHarness({
    services: {
      apns: {
        productionHost: mock.hosts.production,
        developmentHost: mock.hosts.development,
        caPem: mock.caPem,
      },
    },
  });
  try {
    const app = await h.createTestApp();
    await mock.addKey(app.key.keyId, app.key.teamId, app.key.publicKey);
    const { code } = await createSession(h, app);
    const inst = await register(h, app);
    mock.device(inst.token, { environment: "development" });
    const bound = await bind(h, app, code, inst.installationId, inst.installationSecret);
    assertEquals(bound.status, 200);
    const res = await h.call("POST", `/v1/apps/${app.appId}/test-sessions/${code}/sends`, {
      headers: server(app),
      body: { notification: { title: "Preview", body: "Looks good?" } },
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    assertEquals(res.body.results.length, 1);
    assertEquals(res.body.results[0].installationId, inst.installationId);
    assertEquals(res.body.results[0].status, "accepted");
    assertOk(res.body.results[0].apnsId);
    const pushed = mock.accepted.filter((push) => push.token === inst.token);
    assertEquals(pushed.length, 1);
    assertEquals(pushed[0].environment, "development");
    const invalid = await h.call("POST", `/v1/apps/${app.appId}/test-sessions/${code}/sends`, {
      headers: server(app),
      body: {},
    });
    assertEquals(invalid.status, 400);
  } finally {
    await h.stop();
    await mock.close();
  }
});
