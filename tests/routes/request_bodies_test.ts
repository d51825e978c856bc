import { assertEquals } from "../support/assert.ts";
import { ADMIN_TOKEN, startHarness } from "../support/harness.ts";
import { snapshotRedis } from "../support/redis_snapshot.ts";
import { hexToken, register, sdkHeaders, serverHeaders } from "../support/installation_calls.ts";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

Deno.test("a JSON body sent without a JSON Content-Type is a 400 and changes nothing", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const created = await register(h, app, { token: hexToken(1), environment: "production" });
    const { installationId, installationSecret } = created.body;
    const before = await snapshotRedis(h.testRedis.redis);
    for (
      const [method, path, headers] of [
        ["PATCH", `/v1/sdk/installations/${installationId}`, sdkHeaders(app, installationSecret)],
        ["PATCH", `/v1/apps/${app.appId}`, admin],
        ["POST", "/v1/sdk/installations", sdkHeaders(app)],
      ] as const
    ) {
      for (const type of ["application/x-www-form-urlencoded", "text/plain", undefined]) {
        const res = await h.call(method, path, {
          headers: { ...headers, ...(type ? { "content-type": type } : {}) },
          raw: JSON.stringify({ pushAuthorization: "denied", name: "x", token: hexToken(2) }),
        });
        assertEquals(res.status, 400, `${method} ${path} as ${type}`);
        assertEquals(res.body.error.code, "validation_failed");
        assertEquals(res.body.error.details[0].code, "invalid_content_type");
      }
    }
    assertEquals(await snapshotRedis(h.testRedis.redis), before);
  } finally {
    await h.stop();
  }
});

Deno.test("routes that take no body refuse fields and malformed JSON (400) and change nothing", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const created = await register(h, app, { token: hexToken(1), environment: "production" });
    const { installationId, installationSecret } = created.body;
    await h.call("PUT", `/v1/apps/${app.appId}/segments/vip`, {
      headers: serverHeaders(app),
      body: { name: "VIP" },
    });
    const routes = [
      ["DELETE", `/v1/apps/${app.appId}`, admin],
      ["POST", `/v1/apps/${app.appId}/server-keys`, admin],
      ["DELETE", `/v1/apps/${app.appId}/users/nobody`, serverHeaders(app)],
      ["POST", `/v1/apps/${app.appId}/jobs/segment-sync`, serverHeaders(app)],
      ["DELETE", `/v1/apps/${app.appId}/segments/vip`, serverHeaders(app)],
      [
        "POST",
        `/v1/apps/${app.appId}/sends/snd_000000000000000000000000/cancel`,
        serverHeaders(app),
      ],
      ["DELETE", `/v1/sdk/installations/${installationId}`, sdkHeaders(app, installationSecret)],
      [
        "DELETE",
        `/v1/sdk/installations/${installationId}/user`,
        sdkHeaders(app, installationSecret),
      ],
    ] as const;
    const before = await snapshotRedis(h.testRedis.redis);
    for (const [method, path, headers] of routes) {
      for (const raw of ['{"bogus":1}', "{not json", "[]"]) {
        const res = await h.call(method, path, {
          headers: { ...headers, "content-type": "application/json" },
          raw,
        });
        assertEquals(res.status, 400, `${method} ${path} with ${raw}`);
        assertEquals(res.body.error.code, "validation_failed");
      }
    }
    assertEquals(await snapshotRedis(h.testRedis.redis), before);
    // The old server key still works: the refused rotation did not happen.
    const view = await h.call("GET", `/v1/apps/${app.appId}/installations/${installationId}`, {
      headers: serverHeaders(app),
    });
    assertEquals(view.status, 200);
  } finally {
    await h.stop();
  }
});

Deno.test("routes that take no body accept none, an empty one, or {} with a JSON Content-Type", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    for (const [i, init] of [{}, { raw: "" }, { body: {} }].entries()) {
      const segment = `s${i}`;
      await h.call("PUT", `/v1/apps/${app.appId}/segments/${segment}`, {
        headers: serverHeaders(app),
        body: { name: segment },
      });
      const res = await h.call("DELETE", `/v1/apps/${app.appId}/segments/${segment}`, {
        ...init,
        headers: { ...serverHeaders(app), "content-type": "application/json" },
      });
      assertEquals(res.status, 204, JSON.stringify(init));
    }
    const session = await h.call("POST", `/v1/apps/${app.appId}/test-sessions`, {
      headers: { ...serverHeaders(app), "content-type": "application/json" },
    });
    assertEquals(session.status, 201, "an empty JSON body reads as {}");
  } finally {
    await h.stop();
  }
});

Deno.test("GET routes without query parameters refuse unknown ones, as bodies refuse unknown fields", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const created = await register(h, app, { token: hexToken(1), environment: "production" });
    const { installationId } = created.body;
    await h.call("PUT", `/v1/apps/${app.appId}/segments/vip`, {
      headers: serverHeaders(app),
      body: { name: "VIP" },
    });
    const routes = [
      [`/v1/apps/${app.appId}`, admin],
      [`/v1/apps/${app.appId}/installations/${installationId}`, serverHeaders(app)],
      [`/v1/apps/${app.appId}/segments`, serverHeaders(app)],
      [`/v1/apps/${app.appId}/segments/vip`, serverHeaders(app)],
      [`/v1/apps/${app.appId}/jobs/token-probe`, serverHeaders(app)],
    ] as const;
    for (const [path, headers] of routes) {
      assertEquals((await h.call("GET", path, { headers })).status, 200, path);
      const res = await h.call("GET", `${path}?verbose=1`, { headers });
      assertEquals(res.status, 400, `${path}?verbose=1`);
      assertEquals(res.body.error.code, "validation_failed");
    }
  } finally {
    await h.stop();
  }
});

Deno.test("member uploads read application/ndjson and application/jsonl as NDJSON, by media type", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const segment = `/v1/apps/${app.appId}/segments/vip`;
    await h.call("PUT", segment, { headers: serverHeaders(app), body: { name: "VIP" } });
    for (const type of ["application/ndjson", "application/jsonl", "application/x-ndjson; a=b"]) {
      const res = await h.call("POST", `${segment}/members`, {
        headers: { ...serverHeaders(app), "content-type": type },
        raw: `"u-${type}"\n{"userId":"v"}\n`,
      });
      assertEquals(res.status, 200, type);
    }
    const res = await h.call("POST", `${segment}/members`, {
      headers: { ...serverHeaders(app), "content-type": "application/jsonx" },
      raw: '{"add":["w"]}',
    });
    assertEquals(res.status, 400, "a type that merely starts like application/json");
    assertEquals((await h.call("GET", segment, { headers: serverHeaders(app) })).body.users, 4);
  } finally {
    await h.stop();
  }
});
