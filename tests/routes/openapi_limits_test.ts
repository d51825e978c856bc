/**
 * The OpenAPI document's limits are the validators' limits: for every bounded header and body
 * field below, the number is read from `GET /openapi.json`, then the real route is called at
 * that limit (accepted, or refused for another reason than that field) and one past it
 * (refused as `validation_failed`, naming the field).
 */
import { assertEquals, assertOk } from "../support/assert.ts";
import { type Harness, startHarness } from "../support/harness.ts";

type Json = Record<string, unknown>;

/** One bounded field: where it is in the document, and how to call the route with a value. */
interface Case {
  name: string;
  /** The document's operation. */
  path: string;
  method: "post" | "put";
  /** Finds the limit in the operation's document entry. */
  limit(op: Json): number;
  /** Calls the route with the field set to a value of size `n`. */
  call(h: Harness, ctx: Ctx, n: number): Promise<{ status: number; body: unknown }>;
  /** What the refusal's message or details mention. */
  field: string;
}

interface Ctx {
  appId: string;
  server: Record<string, string>;
  sdk: Record<string, string>;
}

const schemaOf = (op: Json) =>
  ((op.requestBody as Json).content as Record<string, { schema: Json }>)["application/json"]
    .schema;
const prop = (schema: Json, ...path: string[]): Json =>
  path.reduce((s, key) => (s.properties as Record<string, Json>)[key], schema);
const headerParam = (
  op: Json,
  name: string,
) => ((op.parameters as Json[]).find((p) => p.name === name)!.schema as Json);
const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const aps = { notification: { title: "limits" } };

const cases: Case[] = [{
  name: "Idempotency-Key header",
  path: "/v1/apps/{appId}/sends",
  method: "post",
  limit: (op) => headerParam(op, "Idempotency-Key").maxLength as number,
  call: (h, ctx, n) =>
    h.call("POST", `/v1/apps/${ctx.appId}/sends`, {
      headers: { ...ctx.server, "idempotency-key": "k".repeat(n) },
      body: { audience: { installationIds: ["i1"] }, ...aps },
    }),
  field: "Idempotency-Key",
}, {
  name: "sends audience.installationIds",
  path: "/v1/apps/{appId}/sends",
  method: "post",
  limit: (op) => {
    const audience = prop(schemaOf(op), "audience") as { anyOf?: Json[]; oneOf?: Json[] };
    const branch = (audience.anyOf ?? audience.oneOf)!.find((b) =>
      (b.properties as Json | undefined)?.installationIds
    )!;
    return prop(branch, "installationIds").maxItems as number;
  },
  call: (h, ctx, n) =>
    h.call("POST", `/v1/apps/${ctx.appId}/sends`, {
      headers: ctx.server,
      body: { audience: { installationIds: ids(n, "i") }, ...aps },
    }),
  field: "installationIds",
}, {
  name: "sends ratePerSecond",
  path: "/v1/apps/{appId}/sends",
  method: "post",
  limit: (op) => prop(schemaOf(op), "ratePerSecond").maximum as number,
  call: (h, ctx, n) =>
    h.call("POST", `/v1/apps/${ctx.appId}/sends`, {
      headers: ctx.server,
      body: { audience: { installationIds: ["i1"] }, ratePerSecond: n, ...aps },
    }),
  field: "ratePerSecond",
}, {
  name: "sends collapseId",
  path: "/v1/apps/{appId}/sends",
  method: "post",
  limit: (op) => prop(schemaOf(op), "collapseId").maxLength as number,
  call: (h, ctx, n) =>
    h.call("POST", `/v1/apps/${ctx.appId}/sends`, {
      headers: ctx.server,
      body: { audience: { installationIds: ["i1"] }, collapseId: "c".repeat(n), ...aps },
    }),
  field: "collapseId",
}, {
  name: "segment members add",
  path: "/v1/apps/{appId}/segments/{segmentId}/members",
  method: "post",
  limit: (op) => prop(schemaOf(op), "add").maxItems as number,
  call: (h, ctx, n) =>
    h.call("POST", `/v1/apps/${ctx.appId}/segments/limits/members`, {
      headers: ctx.server,
      body: { add: ids(n, "u") },
    }),
  field: "add",
}, {
  name: "SDK events",
  path: "/v1/sdk/events",
  method: "post",
  limit: (op) => prop(schemaOf(op), "events").maxItems as number,
  call: (h, ctx, n) =>
    h.call("POST", "/v1/sdk/events", {
      headers: ctx.sdk,
      body: {
        events: ids(n, "i").map((installationId) => ({
          type: "delivered",
          sendId: "snd_000000000000000000000000",
          installationId,
        })),
      },
    }),
  field: "events",
}, {
  name: "uninstall probe afterDays",
  path: "/v1/apps/{appId}/jobs/token-probe",
  method: "put",
  limit: (op) => prop(schemaOf(op), "afterDays").maximum as number,
  call: (h, ctx, n) =>
    h.call("PUT", `/v1/apps/${ctx.appId}/jobs/token-probe`, {
      headers: ctx.server,
      body: { enabled: false, afterDays: n },
    }),
  field: "afterDays",
}, {
  name: "uninstall probe ratePerSecond",
  path: "/v1/apps/{appId}/jobs/token-probe",
  method: "put",
  limit: (op) => prop(schemaOf(op), "ratePerSecond").maximum as number,
  call: (h, ctx, n) =>
    h.call("PUT", `/v1/apps/${ctx.appId}/jobs/token-probe`, {
      headers: ctx.server,
      body: { enabled: false, ratePerSecond: n },
    }),
  field: "ratePerSecond",
}];

/** True when the answer is a validation failure about `field`. */
function refusedFor(res: { status: number; body: unknown }, field: string): boolean {
  if (res.status !== 400) return false;
  const error = (res.body as { error: { code: string; message: string; details: unknown[] } })
    .error;
  return error.code === "validation_failed" &&
    (error.message.includes(field) || JSON.stringify(error.details).includes(field));
}

Deno.test("the OpenAPI document's header and body limits are the ones the routes enforce", async () => {
  const h = await startHarness({ services: { sdkRateLimit: null } });
  try {
    const app = await h.createTestApp();
    const ctx: Ctx = {
      appId: app.appId,
      server: { authorization: `Bearer ${app.serverKey}` },
      sdk: { "x-app-key": app.appKey },
    };
    await h.call("PUT", `/v1/apps/${app.appId}/segments/limits`, {
      headers: ctx.server,
      body: { name: "limits" },
    });
    const doc = (await h.call("GET", "/openapi.json")).body as {
      paths: Record<string, Record<string, Json>>;
    };
    for (const c of cases) {
      const limit = c.limit(doc.paths[c.path][c.method]);
      assertOk(Number.isInteger(limit) && limit > 0, `${c.name}: no limit in the document`);
      const at = await c.call(h, ctx, limit);
      assertOk(!refusedFor(at, c.field), `${c.name}: ${limit} is refused: ${JSON.stringify(at)}`);
      const over = await c.call(h, ctx, limit + 1);
      assertEquals(
        refusedFor(over, c.field),
        true,
        `${c.name}: ${limit + 1} is not refused: ${JSON.stringify(over).slice(0, 300)}`,
      );
    }
  } finally {
    await h.stop();
  }
});
