import { toOpenApiPath } from "../../lib/openapi/mod.ts";
import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { startHarness } from "../support/harness.ts";

/** (METHOD, OpenAPI path) of every handler route of the composed app. */
function appRoutes(routes: Array<{ method: string; path: string }>): string[] {
  const found = new Set<string>();
  for (const route of routes) {
    // `ALL` entries are middleware (`app.use`) or catch-alls; wildcard paths are middleware too.
    if (route.method === "ALL" || route.path.includes("*")) continue;
    // The console's pages are HTML for people, not API operations.
    if (route.path.startsWith("/console")) continue;
    const path = route.path.length > 1 ? route.path.replace(/\/$/, "") : route.path;
    found.add(`${route.method} ${toOpenApiPath(path)}`);
  }
  return [...found].sort();
}

Deno.test("GET /openapi.json documents every route of the composed app", async () => {
  const h = await startHarness();
  try {
    const res = await h.call("GET", "/openapi.json");
    assertEquals(res.status, 200);
    assertEquals(res.body.openapi, "3.1.0");
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(res.body.paths as Record<string, object>)) {
      for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path}`);
    }
    const routes = appRoutes(h.app.routes);
    assertOk(routes.length >= 10, `only ${routes.length} routes found`);
    const missing = routes.filter((route) => !documented.has(route));
    assertEquals(missing, [], `routes missing from the OpenAPI document: ${missing.join(", ")}`);
  } finally {
    await h.stop();
  }
});

Deno.test("GET /openapi.json uses the request schemas that validate the routes", async () => {
  const h = await startHarness();
  try {
    const { body } = await h.call("GET", "/openapi.json");
    const create = body.paths["/v1/apps"].post;
    const schema = create.requestBody.content["application/json"].schema;
    assertEquals(schema.additionalProperties, false);
    assertOk(schema.required.includes("bundleId"));
    assertEquals(create.security, [{ adminToken: [] }]);
    const bind = body.paths["/v1/sdk/test-sessions/{code}/devices"].post;
    assertEquals(bind.security, [{ appKey: [], installationSecret: [] }]);
    const text = JSON.stringify(body);
    assertOk(!text.includes("#/$defs/"));
    for (const match of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      assertOk(body.components.schemas[match[1]], `dangling $ref ${match[1]}`);
    }
  } finally {
    await h.stop();
  }
});

Deno.test("GET /docs serves a self-contained HTML reference", async () => {
  const h = await startHarness();
  try {
    const res = await h.app.request("/docs");
    assertEquals(res.status, 200);
    assertStringIncludes(res.headers.get("content-type") ?? "", "text/html");
    const html = await res.text();
    assertStringIncludes(html, 'data-method="POST" data-path="/v1/apps"');
    assertStringIncludes(html, 'href="openapi.json"');
    assertOk(!/(src|href)="(https?:)?\/\//.test(html), "no remote assets");
  } finally {
    await h.stop();
  }
});
