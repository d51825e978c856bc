import { z } from "zod";
import {
  buildOpenApiDocument,
  DuplicateOperation,
  escapeHtml,
  type OperationSpec,
  renderReferenceHtml,
  toOpenApiPath,
} from "../../../lib/openapi/mod.ts";
import {
  assertEquals,
  assertOk,
  assertStringIncludes,
  assertThrows,
} from "../../support/assert.ts";

const Body = z.strictObject({ name: z.string().min(1), data: z.record(z.string(), z.json()) });
const Out = z.object({ id: z.string() });

const ops: OperationSpec[] = [{
  method: "post",
  path: "/v1/things/:thingId/parts",
  summary: "Create a part",
  tags: ["things"],
  auth: "server",
  params: z.object({ thingId: z.string().regex(/^t_\d+$/) }),
  query: z.object({ mode: z.enum(["replace", "append"]).optional() }),
  body: Body,
  responses: { 201: { description: "created", schema: Out } },
}, {
  method: "get",
  path: "/healthz",
  summary: "Liveness",
  tags: ["ops"],
  auth: "none",
  responses: { 200: { description: "ok", schema: z.object({ status: z.literal("ok") }) } },
}];

Deno.test("toOpenApiPath turns :param into {param}", () => {
  assertEquals(toOpenApiPath("/v1/apps/:appId/sends/:sendId"), "/v1/apps/{appId}/sends/{sendId}");
  assertEquals(toOpenApiPath("/healthz"), "/healthz");
});

Deno.test("buildOpenApiDocument converts the zod schemas into an OpenAPI 3.1 document", () => {
  const doc = buildOpenApiDocument({ info: { title: "t", version: "1" }, operations: ops });
  assertEquals(doc.openapi, "3.1.0");
  const op = doc.paths["/v1/things/{thingId}/parts"].post!;
  assertEquals(op.security, [{ serverKey: [] }]);
  assertEquals(op.parameters, [
    {
      name: "thingId",
      in: "path",
      required: true,
      schema: { type: "string", pattern: "^t_\\d+$" },
    },
    {
      name: "mode",
      in: "query",
      required: false,
      schema: { type: "string", enum: ["replace", "append"] },
    },
  ]);
  // deno-lint-ignore no-explicit-any
  const body = (op.requestBody as any).content["application/json"].schema;
  assertEquals(body.additionalProperties, false);
  assertEquals(body.required, ["name", "data"]);
  assertEquals(Object.keys(op.responses).sort(), ["201", "400", "401", "404", "413", "503"]);
  assertEquals(doc.paths["/healthz"].get!.security, []);
  assertEquals(Object.keys(doc.paths["/healthz"].get!.responses), ["200"]);
});

Deno.test("buildOpenApiDocument hoists $defs into components so every $ref resolves", () => {
  const doc = buildOpenApiDocument({ info: { title: "t", version: "1" }, operations: ops });
  const text = JSON.stringify(doc);
  assertOk(!text.includes("#/$defs/"), "a $defs pointer leaked into the document");
  for (const match of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
    assertOk(doc.components.schemas[match[1]], `dangling $ref ${match[1]}`);
  }
  assertOk(doc.components.schemas.Error);
});

Deno.test("buildOpenApiDocument refuses a duplicate method and path", () => {
  assertThrows(
    () =>
      buildOpenApiDocument({ info: { title: "t", version: "1" }, operations: [ops[1], ops[1]] }),
    DuplicateOperation,
  );
});

Deno.test("renderReferenceHtml lists every operation and loads nothing from the network", () => {
  const doc = buildOpenApiDocument({
    info: { title: "<edge>", version: "1" },
    operations: ops,
  });
  const html = renderReferenceHtml(doc);
  assertStringIncludes(html, 'data-method="POST" data-path="/v1/things/{thingId}/parts"');
  assertStringIncludes(html, 'data-method="GET" data-path="/healthz"');
  assertStringIncludes(html, "&lt;edge&gt;");
  assertOk(!/(src|href)="(https?:)?\/\//.test(html), "the page must not reference remote assets");
});

Deno.test("escapeHtml escapes markup and quotes", () => {
  assertEquals(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
});
