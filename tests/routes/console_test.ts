import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { ADMIN_TOKEN, type Harness, startHarness } from "../support/harness.ts";
import { createTestCa } from "../support/test_ca.ts";
import { startMockApns } from "../support/mock_apns.ts";

const ORIGIN = "http://localhost";

async function signIn(h: Harness, token: string, headers: Record<string, string> = {}) {
  return await h.app.request("/console/sign-in", {
    method: "POST",
    body: new URLSearchParams({ token }),
    headers: { origin: ORIGIN, ...headers },
  });
}

/** Signs in and returns the cookie header and the session's CSRF token. */
async function session(h: Harness, token = ADMIN_TOKEN) {
  const res = await signIn(h, token);
  assertEquals(res.status, 303);
  const cookie = res.headers.get("set-cookie")!.split(";")[0];
  const page = await h.app.request(res.headers.get("location")!, { headers: { cookie } });
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(await page.text())![1];
  return { cookie, csrf };
}

Deno.test("GET /console answers the sign-in form with a strict CSP and no framing", async () => {
  const h = await startHarness();
  try {
    const res = await h.app.request("/console");
    assertEquals(res.status, 200);
    const csp = res.headers.get("content-security-policy")!;
    assertStringIncludes(csp, "script-src 'self'");
    assertStringIncludes(csp, "frame-ancestors 'none'");
    assertEquals(csp.includes("unsafe-inline"), false);
    assertEquals(res.headers.get("x-frame-options"), "DENY");
    const html = await res.text();
    assertStringIncludes(html, 'label for="f-token">Admin token or server key');
    assertEquals(/<script>/.test(html), false, "no inline script");
    const js = await h.app.request("/console/assets/console.js");
    assertEquals(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  } finally {
    await h.stop();
  }
});

Deno.test("POST /console/sign-in sets a __Host- Secure cookie behind https, HttpOnly and SameSite=Strict", async () => {
  const h = await startHarness();
  try {
    const res = await signIn(h, ADMIN_TOKEN, {
      "x-forwarded-proto": "https",
      origin: "https://localhost",
    });
    assertEquals(res.status, 303);
    const cookie = res.headers.get("set-cookie")!;
    assertOk(cookie.startsWith("__Host-edgepush_console="), cookie);
    for (const flag of ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"]) {
      assertStringIncludes(cookie, flag);
    }
    const plain = (await signIn(h, ADMIN_TOKEN)).headers.get("set-cookie")!;
    assertOk(plain.startsWith("edgepush_console=") && !plain.includes("Secure"), plain);
  } finally {
    await h.stop();
  }
});

Deno.test("POST /console/sign-in slows repeated failures from one client with 429 + Retry-After", async () => {
  const h = await startHarness();
  try {
    for (let i = 0; i < 5; i++) {
      const res = await signIn(h, "wrong-token-wrong-token");
      assertEquals(res.status, 401);
      assertStringIncludes(await res.text(), "neither the admin token nor a server key");
    }
    const slowed = await signIn(h, ADMIN_TOKEN);
    assertEquals(slowed.status, 429);
    assertOk(Number(slowed.headers.get("retry-after")) >= 1);
    assertStringIncludes(await slowed.text(), "Too many failed sign-ins");
    assertEquals(slowed.headers.get("set-cookie"), null);
  } finally {
    await h.stop();
  }
});

Deno.test("console actions refuse cross-site posts and posts without the CSRF token (403)", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const { cookie, csrf } = await session(h);
    const path = `/console/apps/${app.appId}/server-key`;
    const post = (headers: Record<string, string>, body: Record<string, string>) =>
      h.app.request(path, {
        method: "POST",
        body: new URLSearchParams(body),
        headers: { cookie, ...headers },
      });
    assertEquals((await post({ origin: "https://evil.example" }, { _csrf: csrf })).status, 403);
    assertEquals((await post({ "sec-fetch-site": "cross-site" }, { _csrf: csrf })).status, 403);
    assertEquals((await post({ origin: "null" }, { _csrf: csrf })).status, 403);
    assertEquals((await post({ origin: ORIGIN }, {})).status, 403);
    assertEquals((await post({ origin: ORIGIN }, { _csrf: "x".repeat(32) })).status, 403);
    // The server key still works: nothing was rotated.
    const still = await h.call("GET", `/v1/apps/${app.appId}/sends`, {
      headers: { authorization: `Bearer ${app.serverKey}` },
    });
    assertEquals(still.status, 200);
    const unconfirmed = await post({ origin: ORIGIN }, { _csrf: csrf });
    assertEquals(unconfirmed.status, 400);
    assertStringIncludes(await unconfirmed.text(), "Tick the box");
    const ok = await post({ origin: ORIGIN }, { _csrf: csrf, confirm: "yes" });
    assertEquals(ok.status, 200);
    assertStringIncludes(await ok.text(), "New server key, shown once");
    const old = await h.call("GET", `/v1/apps/${app.appId}/sends`, {
      headers: { authorization: `Bearer ${app.serverKey}` },
    });
    assertEquals(old.status, 401);
  } finally {
    await h.stop();
  }
});

Deno.test("a server-key session reaches its own app only, and ends when the key is rotated", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp({ name: "Mine <script>alert(1)</script>" });
    const other = await h.createTestApp();
    const { cookie } = await session(h, app.serverKey);
    const get = (path: string) => h.app.request(path, { headers: { cookie } });
    const own = await get(`/console/apps/${app.appId}`);
    assertEquals(own.status, 200);
    const html = await own.text();
    assertStringIncludes(html, "Mine &lt;script&gt;alert(1)&lt;/script&gt;");
    assertEquals(html.includes("<script>alert"), false);
    assertEquals((await get(`/console/apps/${other.appId}`)).status, 403);
    assertEquals((await get(`/console/apps/${other.appId}/sends`)).status, 403);
    assertEquals((await get("/console/apps/new")).status, 403);
    const list = await (await get("/console")).text();
    assertStringIncludes(list, `href="/console/apps/${app.appId}"`);
    assertEquals(list.includes(other.appId), false, "only the key's own app is listed");

    await h.call("POST", `/v1/apps/${app.appId}/server-keys`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const after = await get(`/console/apps/${app.appId}`);
    assertEquals(after.status, 303);
    assertEquals(after.headers.get("location"), "/console");
  } finally {
    await h.stop();
  }
});

Deno.test("POST /console/…/members streams a file past the 1 MiB body limit", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    await h.call("PUT", `/v1/apps/${app.appId}/segments/big`, {
      headers: { authorization: `Bearer ${app.serverKey}` },
      body: { name: "Big" },
    });
    const { cookie, csrf } = await session(h);
    const ids = Array.from({ length: 120_000 }, (_, i) => `user-${i}`).join("\n");
    assertOk(ids.length > 1024 * 1024);
    const res = await h.app.request(
      `/console/apps/${app.appId}/segments/big/members?mode=replace`,
      {
        method: "POST",
        body: ids,
        headers: { cookie, origin: ORIGIN, "x-csrf-token": csrf, "content-type": "text/plain" },
      },
    );
    assertEquals(res.status, 200);
    const body = await res.json();
    assertEquals(body.members, 120_000);
    assertStringIncludes(body.message, "120,000 members now");
  } finally {
    await h.stop();
  }
});

Deno.test("console pages show attributes and names as text, never markup", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const xss = "<img src=x onerror=alert(1)>";
    const reg = await h.call("POST", "/v1/sdk/installations", {
      headers: { "x-app-key": app.appKey },
      body: {
        token: "ab".repeat(32),
        environment: "production",
        userId: xss,
        attributes: { deviceModel: xss, osVersion: xss },
      },
    });
    assertEquals(reg.status, 201);
    const { cookie, csrf } = await session(h);
    const created = await h.app.request(`/console/apps/${app.appId}/test-devices`, {
      method: "POST",
      body: new URLSearchParams({ _csrf: csrf }),
      headers: { cookie, origin: ORIGIN },
    });
    const page = created.headers.get("location")!;
    const code = page.split("/").pop()!;
    const bound = await h.call("POST", `/v1/sdk/test-sessions/${code}/devices`, {
      headers: {
        "x-app-key": app.appKey,
        authorization: `Bearer ${reg.body.installationSecret}`,
      },
      body: { installationId: reg.body.installationId },
    });
    assertEquals(bound.status, 200);
    for (
      const path of [
        `${page}/devices`,
        `/console/apps/${app.appId}/diagnose?q=${encodeURIComponent(xss)}`,
      ]
    ) {
      const html = await (await h.app.request(path, { headers: { cookie } })).text();
      assertStringIncludes(html, "&lt;img src=x onerror=alert(1)&gt;");
      assertEquals(html.includes(xss), false, path);
    }
  } finally {
    await h.stop();
  }
});

Deno.test("the console creates a certificate-only app from a .p12, renews it, and keeps its last credential", async () => {
  const h = await startHarness();
  const ca = await createTestCa();
  try {
    const { cookie, csrf } = await session(h);
    const cert = await ca.issueApns({ bundleId: "com.example.cert", endDays: 20 });
    const p12 = Uint8Array.from(atob(await cert.p12("secret")), (ch) => ch.charCodeAt(0));
    const form = (fields: Record<string, string>, file?: Uint8Array<ArrayBuffer>) => {
      const body = new FormData();
      body.set("_csrf", csrf);
      for (const [k, v] of Object.entries(fields)) body.set(k, v);
      if (file) body.set("p12File", new File([file], "push.p12"));
      return body;
    };
    const post = (path: string, body: FormData) =>
      h.app.request(path, { method: "POST", body, headers: { cookie, origin: ORIGIN } });
    const base = { name: "Cert app", bundleId: "com.example.cert" };

    const none = await post("/console/apps", form(base));
    assertEquals(none.status, 400);
    const noneHtml = await none.text();
    assertStringIncludes(noneHtml, 'id="f-keyFile-error"');
    assertStringIncludes(noneHtml, 'id="f-p12File-error"');

    const wrong = await post("/console/apps", form({ ...base, p12Password: "nope" }, p12));
    assertEquals(wrong.status, 400);
    assertStringIncludes(await wrong.text(), 'id="f-p12Password-error"');
    assertEquals((await h.services.apps.list()).length, 0, "nothing stored");

    const created = await post("/console/apps", form({ ...base, p12Password: "secret" }, p12));
    assertEquals(created.status, 201, await created.clone().text());
    const [app] = await h.services.apps.list();
    assertEquals(app.apns, null);
    const overview = await (await h.app.request(`/console/apps/${app.appId}`, {
      headers: { cookie },
    })).text();
    assertStringIncludes(overview, "Apple Push Services: com.example.cert");
    assertStringIncludes(overview, "Pushes reach development and production");
    assertStringIncludes(overview, "19 days left");
    assertStringIncludes(overview, "Certificate expires in 19 days");

    const renewed = await ca.issueApns({ bundleId: "com.example.cert", endDays: 300 });
    const renewedP12 = Uint8Array.from(atob(await renewed.p12("")), (ch) => ch.charCodeAt(0));
    const renew = await post(`/console/apps/${app.appId}/certificate`, form({}, renewedP12));
    assertEquals(renew.status, 200);
    const renewHtml = await renew.text();
    assertStringIncludes(renewHtml, "The certificate is stored");
    assertStringIncludes(renewHtml, "299 days left");

    // The last credential cannot go: the API's 409 lands next to the form.
    const remove = await post(
      `/console/apps/${app.appId}/remove-credential`,
      form({ credential: "certificate" }),
    );
    assertEquals(remove.status, 400);
    assertOk((await h.services.apps.get(app.appId)).certificate, "still there");
  } finally {
    await ca.cleanup();
    await h.stop();
  }
});

Deno.test("POST /console/…/preview with an empty form sends a default test notification", async () => {
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
    const reg = await h.call("POST", "/v1/sdk/installations", {
      headers: { "x-app-key": app.appKey },
      body: { token: "cd".repeat(32), environment: "development" },
    });
    const { cookie, csrf } = await session(h);
    const post = (path: string, body: Record<string, string>) =>
      h.app.request(path, {
        method: "POST",
        body: new URLSearchParams({ _csrf: csrf, ...body }),
        headers: { cookie, origin: ORIGIN },
      });
    const page = (await post(`/console/apps/${app.appId}/test-devices`, {})).headers.get(
      "location",
    )!;
    const bound = await h.call("POST", `/v1/sdk/test-sessions/${page.split("/").pop()}/devices`, {
      headers: { "x-app-key": app.appKey, authorization: `Bearer ${reg.body.installationSecret}` },
      body: { installationId: reg.body.installationId },
    });
    assertEquals(bound.status, 200);
    const res = await post(`${page}/preview`, { title: "", body: "" });
    assertEquals(res.status, 200);
    assertStringIncludes(await res.text(), "Accepted by APNs");
    const pushed = mock.accepted.find((p) => p.token === "cd".repeat(32));
    assertEquals(
      (pushed?.payload as { aps: { alert: { title: string } } }).aps.alert.title,
      "Test notification",
    );
    const bad = await post(`${page}/preview`, { title: "x", image: "http://not-https" });
    assertEquals(bad.status, 400);
    assertStringIncludes(await bad.text(), 'id="f-image-error"');
  } finally {
    await h.stop();
    await mock.close();
  }
});

Deno.test("behind trusted proxies the console compares Origin with X-Forwarded-Host", async () => {
  const proxied = await startHarness({ trustedProxyHops: 1 });
  const direct = await startHarness({ redis: proxied.testRedis });
  try {
    const headers = {
      origin: "https://console.example.com",
      "x-forwarded-host": "console.example.com",
      "x-forwarded-proto": "https",
      "x-forwarded-for": "203.0.113.9",
    };
    const post = (h: Harness) =>
      h.app.request("/console/sign-in", {
        method: "POST",
        body: new URLSearchParams({ token: ADMIN_TOKEN }),
        headers,
      });
    const ok = await post(proxied);
    assertEquals(ok.status, 303);
    assertStringIncludes(ok.headers.get("set-cookie")!, "__Host-edgepush_console=");
    // Without trusted proxies the forwarded host is not believed: the origins differ.
    assertEquals((await post(direct)).status, 403);
  } finally {
    await direct.stop();
    await proxied.stop();
  }
});

Deno.test("the segment form keeps a rule that mixes all and any, and puts a row's error on that row", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp();
    const rule = {
      all: [{ attribute: "locale", op: "eq", value: "fr_FR" }],
      any: [
        { attribute: "appVersion", op: "semverGte", value: "2.0" },
        { attribute: "osVersion", op: "prefix", value: "17" },
      ],
    } as const;
    await h.call("PUT", `/v1/apps/${app.appId}/segments/mixed`, {
      headers: { authorization: `Bearer ${app.serverKey}` },
      body: { name: "Mixed", rule },
    });
    const { cookie, csrf } = await session(h);
    const path = `/console/apps/${app.appId}/segments/mixed`;
    const html = await (await h.app.request(path, { headers: { cookie } })).text();
    assertStringIncludes(html, 'name="cond.0.group" value="all"');
    assertStringIncludes(html, 'name="cond.2.group" value="any"');
    const post = (fields: Record<string, string>) =>
      h.app.request(path, {
        method: "POST",
        body: new URLSearchParams({ _csrf: csrf, match: "all", ...fields }),
        headers: { cookie, origin: ORIGIN },
      });
    const saved = await post({
      name: "Mixed, renamed",
      "cond.0.attribute": "locale",
      "cond.0.op": "eq",
      "cond.0.value": "fr_FR",
      "cond.0.group": "all",
      "cond.1.attribute": "appVersion",
      "cond.1.op": "semverGte",
      "cond.1.value": "2.0",
      "cond.1.group": "any",
      "cond.2.attribute": "osVersion",
      "cond.2.op": "prefix",
      "cond.2.value": "17",
      "cond.2.group": "any",
    });
    assertEquals(saved.status, 303);
    const stored = await h.services.segments.get(app.appId, "mixed");
    assertEquals(stored.name, "Mixed, renamed");
    assertEquals(JSON.stringify(stored.rule), JSON.stringify(rule));

    const refused = await post({
      name: "Mixed",
      "cond.2.attribute": "appVersion",
      "cond.2.op": "semverGte",
      "cond.2.value": "not a version",
    });
    assertEquals(refused.status, 400);
    const page = await refused.text();
    assertStringIncludes(page, 'id="cond-2-value-error"');
    assertStringIncludes(page, 'value="not a version"');
    const after = await h.services.segments.get(app.appId, "mixed");
    assertEquals(JSON.stringify(after.rule), JSON.stringify(rule), "unchanged");
  } finally {
    await h.stop();
  }
});

Deno.test("the admin sets an app's URL scheme from the console, so test sessions can start", async () => {
  const h = await startHarness();
  try {
    const app = await h.createTestApp({ urlScheme: undefined });
    const { cookie, csrf } = await session(h);
    const post = (path: string, body: Record<string, string>) =>
      h.app.request(path, {
        method: "POST",
        body: new URLSearchParams({ _csrf: csrf, ...body }),
        headers: { cookie, origin: ORIGIN },
      });
    const base = `/console/apps/${app.appId}`;
    const bad = await post(`${base}/settings`, { name: "Test app", urlScheme: "1bad" });
    assertEquals(bad.status, 400);
    assertStringIncludes(await bad.text(), 'id="f-urlScheme-error"');
    const ok = await post(`${base}/settings`, { name: "Renamed", urlScheme: "shopapp" });
    assertEquals(ok.status, 200);
    assertStringIncludes(await ok.text(), "Settings saved.");
    const stored = await h.services.apps.get(app.appId);
    assertEquals([stored.name, stored.urlScheme], ["Renamed", "shopapp"]);
    const started = await post(`${base}/test-devices`, {});
    assertEquals(started.status, 303);
  } finally {
    await h.stop();
  }
});
