import { parseConfig, sdkRateLimits } from "../../lib/config.ts";
import type { SdkRateLimits } from "../../lib/ratelimit/mod.ts";
import { assertEquals, assertOk } from "../support/assert.ts";
import { type Harness, startHarness, type TestApp } from "../support/harness.ts";
import { hexToken } from "../support/installation_calls.ts";

/** A harness whose clock the test moves, behind one trusted proxy (the client = last XFF entry). */
async function limitedHarness(limits: SdkRateLimits | null) {
  const clock = { ms: Date.UTC(2026, 0, 1) };
  const h = await startHarness({
    services: { sdkRateLimit: limits, now: () => clock.ms },
    trustedProxyHops: 1,
  });
  return { h, clock };
}

const from = (app: TestApp, client: string, secret?: string) => ({
  "x-app-key": app.appKey,
  "x-forwarded-for": client,
  ...(secret ? { authorization: `Bearer ${secret}` } : {}),
});

function registerFrom(h: Harness, app: TestApp, client: string, n: number) {
  return h.call("POST", "/v1/sdk/installations", {
    headers: from(app, client),
    body: { token: hexToken(n), environment: "production" },
  });
}

Deno.test("with the default limits, 2,000 devices behind one address register within a minute", async () => {
  const { h, clock } = await limitedHarness(sdkRateLimits(parseConfig({})));
  try {
    const app = await h.createTestApp();
    const statuses = new Map<number, number>();
    for (let i = 1; i <= 2_000; i++) {
      const res = await registerFrom(h, app, "198.51.100.7", i);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      clock.ms += 25; // 2,000 × 25 ms = 50 s: all inside one minute
    }
    assertEquals([...statuses], [[201, 2_000]]);
  } finally {
    await h.stop();
  }
});

Deno.test("PATCH hammered by one installation gets 429 with Retry-After; others are unaffected", async () => {
  const { h, clock } = await limitedHarness(sdkRateLimits(parseConfig({})));
  try {
    const app = await h.createTestApp();
    const a = (await registerFrom(h, app, "198.51.100.7", 1)).body;
    const b = (await registerFrom(h, app, "198.51.100.7", 2)).body;
    const patch = (inst: { installationId: string; installationSecret: string }, v: string) =>
      h.call("PATCH", `/v1/sdk/installations/${inst.installationId}`, {
        headers: from(app, "198.51.100.7", inst.installationSecret),
        body: { attributes: { appVersion: v } },
      });
    for (let i = 0; i < 120; i++) assertEquals((await patch(a, `1.0.${i}`)).status, 200);
    const refused = await patch(a, "9.9.9");
    assertEquals(refused.status, 429);
    assertEquals(refused.body.error.code, "rate_limited");
    const retryAfter = Number(refused.headers.get("retry-after"));
    assertOk(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    // The refused call wrote nothing.
    const view = await h.call("GET", `/v1/apps/${app.appId}/installations/${a.installationId}`, {
      headers: { authorization: `Bearer ${app.serverKey}` },
    });
    assertEquals(view.body.attributes.appVersion, "1.0.119");
    // A refresh of the same installation is limited with it; another installation behind the
    // same address, and a new registration from it, are not.
    const refresh = await h.call("POST", "/v1/sdk/installations", {
      headers: from(app, "198.51.100.7", a.installationSecret),
      body: { installationId: a.installationId, token: hexToken(1), environment: "production" },
    });
    assertEquals(refresh.status, 429);
    assertEquals((await patch(b, "2.0.0")).status, 200);
    assertEquals((await registerFrom(h, app, "198.51.100.7", 3)).status, 201);
    // Once the window has slid past, the installation may call again.
    clock.ms += 120_000;
    assertEquals((await patch(a, "3.0.0")).status, 200);
  } finally {
    await h.stop();
  }
});

Deno.test("new registrations are limited per app and client address", async () => {
  const { h } = await limitedHarness({
    address: { limit: 3, windowSeconds: 60 },
    installation: { limit: 100, windowSeconds: 60 },
  });
  try {
    const app = await h.createTestApp();
    const other = await h.createTestApp();
    const statuses = [];
    for (let i = 1; i <= 4; i++) {
      statuses.push((await registerFrom(h, app, "203.0.113.9", i)).status);
    }
    assertEquals(statuses, [201, 201, 201, 429]);
    // Another address of the same app, and the same address for another app, have their own.
    assertEquals((await registerFrom(h, app, "203.0.113.10", 9)).status, 201);
    assertEquals((await registerFrom(h, other, "203.0.113.9", 9)).status, 201);
    // An IPv6 client is one /64: rotating addresses inside it gains nothing.
    for (let i = 0; i < 3; i++) {
      assertEquals((await registerFrom(h, app, `2001:db8:1:2::${i + 1}`, 20 + i)).status, 201);
    }
    assertEquals((await registerFrom(h, app, "2001:db8:1:2:aaaa::9", 30)).status, 429);
    // Events and calls without a valid secret count against the address too.
    const events = await h.call("POST", "/v1/sdk/events", {
      headers: from(app, "203.0.113.9"),
      body: { events: [{ type: "opened", sendId: "s", installationId: "in_x" }] },
    });
    assertEquals(events.status, 429);
    const guessed = await h.call("PATCH", "/v1/sdk/installations/in_nope", {
      headers: from(app, "203.0.113.9", "wrong-secret"),
      body: { attributes: { appVersion: "1" } },
    });
    assertEquals(guessed.status, 429);
  } finally {
    await h.stop();
  }
});

Deno.test("a client rotating X-Forwarded-For gets no fresh window unless proxies are trusted", async () => {
  const h = await startHarness({
    services: {
      sdkRateLimit: { address: { limit: 3, windowSeconds: 60 }, installation: null },
    },
  });
  try {
    const app = await h.createTestApp();
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const res = await h.call("POST", "/v1/sdk/installations", {
        headers: { "x-app-key": app.appKey, "x-forwarded-for": `203.0.113.${i}` },
        body: { token: hexToken(i + 1), environment: "production" },
      });
      statuses.push(res.status);
    }
    assertEquals(statuses, [201, 201, 201, 429, 429]);
  } finally {
    await h.stop();
  }
});

Deno.test("SDK_RATE_LIMIT_ENABLED=false: nothing is limited and no counter is written", async () => {
  const { h } = await limitedHarness(
    sdkRateLimits(parseConfig({ SDK_RATE_LIMIT_ENABLED: "false" })),
  );
  try {
    const app = await h.createTestApp();
    for (let i = 1; i <= 5; i++) {
      assertEquals((await registerFrom(h, app, "192.0.2.1", i)).status, 201);
    }
    const [, keys] = await h.testRedis.redis.scan("0", {
      match: `*{${app.appId}}:rl:*`,
      count: 1000,
    });
    assertEquals(keys, []);
  } finally {
    await h.stop();
  }
});
