/**
 * Operations: liveness and readiness, Prometheus metrics for the requests just made, a request
 * id on every response, and structured logs that never carry a secret.
 */
import { createLogger } from "../../lib/observability/logger.ts";
import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { ADMIN_TOKEN, startHarness } from "../support/harness.ts";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition sample lines (comments skipped). */
function samples(text: string): Sample[] {
  return text.split("\n").filter((l) => l && !l.startsWith("#")).map((line) => {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    return { name: m[1], labels, value: Number(m[3]) };
  });
}

function find(all: Sample[], name: string, labels: Record<string, string>): Sample[] {
  return all.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
}

Deno.test("GET / points a newcomer at the console, the docs and the ops endpoints, each of which answers", async () => {
  const h = await startHarness();
  try {
    const index = await h.call("GET", "/");
    assertEquals(index.status, 200);
    assertEquals(index.body.console, "/console");
    assertEquals(index.body.docs, "/docs");
    for (const path of Object.values(index.body).filter((v) => String(v).startsWith("/"))) {
      assertEquals((await h.call("GET", String(path))).status, 200, String(path));
    }
  } finally {
    await h.stop();
  }
});

Deno.test("GET /healthz answers 200 JSON and /readyz 200 while Redis is up", async () => {
  const h = await startHarness();
  try {
    const live = await h.call("GET", "/healthz");
    assertEquals(live.status, 200);
    assertStringIncludes(live.headers.get("content-type") ?? "", "application/json");
    assertEquals(live.body, { status: "ok" });
    const ready = await h.call("GET", "/readyz");
    assertEquals(ready.status, 200);
    assertStringIncludes(ready.headers.get("content-type") ?? "", "application/json");
    assertEquals(ready.body, { status: "ready" });
  } finally {
    await h.stop();
  }
});

Deno.test("GET /metrics counts the requests just made and their latency by route and status", async () => {
  const h = await startHarness();
  try {
    for (let i = 0; i < 3; i++) assertEquals((await h.call("GET", "/healthz")).status, 200);
    const missing = await h.call("GET", "/v1/apps/app_000000000000000000000000", {
      headers: admin,
    });
    assertEquals(missing.status, 404);
    assertEquals((await h.call("GET", "/no/such/route")).status, 404);

    const res = await h.app.request("/metrics");
    assertEquals(res.status, 200);
    assertStringIncludes(res.headers.get("content-type") ?? "", "text/plain; version=0.0.4");
    const text = await res.text();
    assertStringIncludes(text, "# TYPE http_requests_total counter");
    assertStringIncludes(text, "# TYPE http_request_duration_seconds histogram");
    const all = samples(text);

    const health = { route: "/healthz", method: "GET", status: "200" };
    assertEquals(find(all, "http_requests_total", health).map((s) => s.value), [3]);
    assertEquals(
      find(all, "http_requests_total", { route: "/v1/apps/:appId", status: "404" })
        .map((s) => s.value),
      [1],
    );
    assertEquals(
      find(all, "http_requests_total", { route: "unmatched", status: "404" }).map((s) => s.value),
      [1],
    );

    const buckets = find(all, "http_request_duration_seconds_bucket", health);
    assertOk(buckets.length > 2, "the latency histogram has buckets");
    const inf = buckets.find((b) => b.labels.le === "+Inf");
    assertEquals(inf?.value, 3);
    const counts = buckets.map((b) => b.value);
    assertEquals(counts, [...counts].sort((a, b) => a - b), "buckets are cumulative");
    assertEquals(find(all, "http_request_duration_seconds_count", health)[0]?.value, 3);
    const sum = find(all, "http_request_duration_seconds_sum", health)[0]?.value;
    assertOk(sum !== undefined && sum > 0 && sum < 30, `latency sum ${sum}`);
  } finally {
    await h.stop();
  }
});

Deno.test("every response carries X-Request-Id; a well-formed incoming one is echoed", async () => {
  const h = await startHarness();
  try {
    const answers = [
      await h.call("GET", "/healthz"),
      await h.call("GET", "/no/such/route"),
      await h.call("GET", "/v1/apps/app_000000000000000000000000"),
      await h.call("GET", "/v1/apps/app_000000000000000000000000", { headers: admin }),
      await h.call("POST", "/v1/apps", { headers: admin, body: { surprise: true } }),
      await h.call("POST", "/v1/apps", {
        headers: { ...admin, "content-type": "application/json" },
        raw: "{not json",
      }),
    ];
    assertEquals(answers.map((a) => a.status), [200, 404, 401, 404, 400, 400]);
    const ids = answers.map((a) => a.headers.get("x-request-id") ?? "");
    for (const id of ids) assertOk(UUID.test(id), `request id ${JSON.stringify(id)}`);
    assertEquals(new Set(ids).size, ids.length, "request ids are unique");

    const echoed = await h.call("GET", "/no/such/route", {
      headers: { "x-request-id": "edge-abc.123_XYZ" },
    });
    assertEquals(echoed.headers.get("x-request-id"), "edge-abc.123_XYZ");
    for (const bad of ["has spaces in it", "x".repeat(65), 'quote"injection']) {
      const res = await h.call("GET", "/healthz", { headers: { "x-request-id": bad } });
      const id = res.headers.get("x-request-id") ?? "";
      assertOk(UUID.test(id), `a malformed incoming id is replaced, got ${JSON.stringify(id)}`);
    }
  } finally {
    await h.stop();
  }
});

Deno.test("logs are JSON lines with the request id and never carry a token, key or secret", async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(line) });
  const h = await startHarness({ services: { logger } });
  try {
    const app = await h.createTestApp({ name: "Logged app" });
    const rotated = await h.call("POST", `/v1/apps/${app.appId}/server-keys`, { headers: admin });
    assertEquals(rotated.status, 201);
    const reg = await h.call("POST", "/v1/sdk/installations", {
      headers: { "x-app-key": app.appKey },
      body: { token: "ab".repeat(32), environment: "production" },
    });
    assertEquals(reg.status, 201);
    const badAdmin = await h.call("POST", "/v1/apps", {
      headers: { authorization: "Bearer wrong-admin-token-but-a-secret-all-the-same" },
      body: { name: "x" },
    });
    assertEquals(badAdmin.status, 401);
    // A 5xx is logged too: take Redis away and ask for readiness.
    await h.testRedis.server.stop();
    const down = await h.call("GET", "/readyz", { headers: { "x-request-id": "outage-1" } });
    assertEquals(down.status, 503);

    assertOk(lines.length >= 3, `expected request logs, got ${lines.length} lines`);
    const parsed = lines.map((line) => {
      assertOk(!line.includes("\n"), "one object per line");
      return JSON.parse(line);
    });
    for (const entry of parsed) {
      assertEquals(typeof entry.ts, "string");
      assertOk(["debug", "info", "warn", "error"].includes(entry.level), entry.level);
      assertEquals(typeof entry.msg, "string");
    }
    const created = parsed.find((e) =>
      e.msg === "request" && e.path === "/v1/apps" &&
      e.status === "201"
    );
    assertOk(created, "the create-app request is logged");
    assertOk(UUID.test(created.requestId), "with its request id");
    assertOk(parsed.some((e) => e.requestId === "outage-1" && e.status === "503"));

    const secrets = {
      "admin token": ADMIN_TOKEN,
      "rejected admin token": "wrong-admin-token-but-a-secret-all-the-same",
      "server key": app.serverKey,
      "rotated server key": rotated.body.serverKey,
      "installation secret": reg.body.installationSecret,
      "APNs private key marker": "PRIVATE KEY",
      "APNs private key body": app.key.privateKeyPem.split("\n")[1],
    };
    const all = lines.join("\n");
    for (const [what, value] of Object.entries(secrets)) {
      assertOk(value && value.length > 8, `${what} is known to the test`);
      assertOk(!all.includes(value), `the logs contain the ${what}`);
    }
  } finally {
    await h.stop();
  }
});
