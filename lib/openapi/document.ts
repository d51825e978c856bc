/**
 * Builds an OpenAPI 3.1 document from {@linkcode OperationSpec}s with zod v4's own
 * `z.toJSONSchema`. Request parts are converted as the schema's input, responses as its output.
 *
 * ```ts
 * const doc = buildOpenApiDocument({ info: { title: "edgepush", version: "1" }, operations });
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { AuthKind, BodySpec, HttpMethod, OperationSpec, ResponseSpec } from "./types.ts";

/** A JSON Schema object as emitted into the document. */
export type JsonSchema = Record<string, unknown>;

/** An OpenAPI 3.1 document (kept loose: it is data, serialised as JSON). */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description?: string };
  servers?: Array<{ url: string; description?: string }>;
  tags: Array<{ name: string; description?: string }>;
  paths: Record<string, Partial<Record<HttpMethod, OpenApiOperation>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, JsonSchema>;
  };
}

/** One operation object of the document. */
export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security: Array<Record<string, string[]>>;
  parameters?: Array<Record<string, unknown>>;
  requestBody?: Record<string, unknown>;
  responses: Record<string, Record<string, unknown>>;
  /** The authentication kind, for the reference page. */
  "x-edgepush-auth": AuthKind;
}

/** Options of {@linkcode buildOpenApiDocument}. */
export interface DocumentOptions {
  info: OpenApiDocument["info"];
  servers?: OpenApiDocument["servers"];
  /** Tag descriptions, in display order. Tags used by operations but absent here come last. */
  tags?: Array<{ name: string; description?: string }>;
  operations: OperationSpec[];
}

/** Thrown when two operations share a method and path. */
export class DuplicateOperation extends Error {
  override name = "DuplicateOperation";
}

/** The JSON error shape every error response uses. */
export const ErrorResponse = z.object({
  error: z.object({
    code: z.enum([
      "validation_failed",
      "unauthorized",
      "forbidden",
      "not_found",
      "conflict",
      "gone",
      "payload_too_large",
      "rate_limited",
      "unavailable",
      "internal",
    ]),
    message: z.string(),
    details: z.array(z.unknown()),
  }),
});

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "validation_failed: the request is malformed or breaks a rule",
  401: "unauthorized: credentials are missing or wrong",
  403: "forbidden: the credentials belong to another app",
  404: "not_found",
  409: "conflict",
  410: "gone: the resource has expired",
  413: "payload_too_large: the body is over 1 MiB",
  429: "rate_limited (see Retry-After)",
  503: "unavailable: Redis cannot be reached",
};

const SECURITY: Record<AuthKind, Array<Record<string, string[]>>> = {
  admin: [{ adminToken: [] }],
  server: [{ serverKey: [] }],
  sdk: [{ appKey: [] }],
  sdkSecret: [{ appKey: [], installationSecret: [] }],
  none: [],
};

/** Converts a Hono path (`/v1/apps/:appId`) to an OpenAPI path (`/v1/apps/{appId}`). */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)(\{[^}]*\})?/g, "{$1}");
}

/** Builds the document. @throws {DuplicateOperation} */
export function buildOpenApiDocument(options: DocumentOptions): OpenApiDocument {
  const components = new SchemaComponents();
  const paths: OpenApiDocument["paths"] = {};
  const tagOrder = new Map((options.tags ?? []).map((tag) => [tag.name, tag]));
  for (const op of options.operations) {
    const path = toOpenApiPath(op.path);
    const item = paths[path] ??= {};
    if (item[op.method]) {
      throw new DuplicateOperation(`${op.method.toUpperCase()} ${op.path} is listed twice`);
    }
    item[op.method] = buildOperation(op, path, components);
    for (const tag of op.tags) if (!tagOrder.has(tag)) tagOrder.set(tag, { name: tag });
  }
  return {
    openapi: "3.1.0",
    info: options.info,
    ...(options.servers ? { servers: options.servers } : {}),
    tags: [...tagOrder.values()],
    paths,
    components: {
      schemas: { Error: components.convert(ErrorResponse, "output"), ...components.schemas },
      securitySchemes: {
        adminToken: {
          type: "http",
          scheme: "bearer",
          description:
            "ADMIN_TOKEN (embedded mode prints it once and keeps it in .data/secrets.json)",
        },
        serverKey: {
          type: "http",
          scheme: "bearer",
          description: "a server key of the app in the path (POST /v1/apps returns the first)",
        },
        appKey: { type: "apiKey", in: "header", name: "X-App-Key", description: "public app key" },
        installationSecret: {
          type: "http",
          scheme: "bearer",
          description: "the installation secret returned when the installation was created",
        },
      },
    },
  };
}

function buildOperation(
  op: OperationSpec,
  path: string,
  components: SchemaComponents,
): OpenApiOperation {
  const parameters = [
    ...pathParameters(op, path, components),
    ...objectParameters(op.query, "query", components),
    ...objectParameters(op.headers, "header", components),
  ];
  const responses: OpenApiOperation["responses"] = {};
  for (const [status, spec] of Object.entries(op.responses)) {
    responses[status] = response(spec, components);
  }
  const errors = new Set(op.errors ?? []);
  if (op.body || op.params || op.query || /\{/.test(path)) errors.add(400);
  if (op.auth !== "none") errors.add(401).add(503);
  if (op.body) errors.add(413);
  if (/\{/.test(path)) errors.add(404);
  for (const status of [...errors].sort()) {
    responses[String(status)] ??= {
      description: ERROR_DESCRIPTIONS[status] ?? "error",
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  return {
    operationId: op.operationId ?? operationId(op.method, path),
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: op.tags,
    security: SECURITY[op.auth],
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? { requestBody: requestBody(op.body, components) } : {}),
    responses,
    "x-edgepush-auth": op.auth,
  };
}

function pathParameters(op: OperationSpec, path: string, components: SchemaComponents) {
  const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  const shape = op.params?.shape ?? {};
  return names.map((name) => ({
    name,
    in: "path",
    required: true,
    schema: shape[name] ? components.convert(shape[name], "input") : { type: "string" },
  }));
}

function objectParameters(
  object: z.ZodObject | undefined,
  location: "query" | "header",
  components: SchemaComponents,
) {
  if (!object) return [];
  const schema = components.convert(object, "input");
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: location,
      required: required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

function requestBody(body: BodySpec, components: SchemaComponents) {
  if (body instanceof z.ZodType) {
    return {
      required: true,
      content: { "application/json": { schema: components.convert(body, "input") } },
    };
  }
  const content: Record<string, unknown> = {};
  for (const [type, schema] of Object.entries(body.content)) {
    content[type] = schema ? { schema: components.convert(schema, "input") } : {};
  }
  return {
    required: body.required ?? true,
    ...(body.description ? { description: body.description } : {}),
    content,
  };
}

function response(spec: ResponseSpec, components: SchemaComponents) {
  const headers = spec.headers
    ? Object.fromEntries(
      Object.entries(spec.headers).map(([name, description]) => [name, {
        description,
        schema: { type: "string" },
      }]),
    )
    : undefined;
  return {
    description: spec.description,
    ...(headers ? { headers } : {}),
    ...(spec.schema
      ? {
        content: {
          [spec.contentType ?? "application/json"]: {
            schema: components.convert(spec.schema, "output"),
          },
        },
      }
      : {}),
  };
}

function operationId(method: HttpMethod, path: string): string {
  const words = path.split("/").filter(Boolean).filter((part) => part !== "v1").map((part) =>
    part.startsWith("{") ? `by_${part.slice(1, -1)}` : part.replaceAll("-", "_")
  );
  return [method, ...words].join("_").replace(/[^A-Za-z0-9_]/g, "_");
}

/**
 * Converts zod schemas and hoists the `$defs` they produce (recursive schemas such as
 * `z.json()`) into `components.schemas`, since a `#/$defs/…` pointer would resolve against the
 * document root. Identical definitions are shared.
 */
class SchemaComponents {
  readonly schemas: Record<string, JsonSchema> = {};
  #byFingerprint = new Map<string, string>();

  convert(schema: z.ZodType, io: "input" | "output"): JsonSchema {
    const json = z.toJSONSchema(schema, {
      target: "draft-2020-12",
      io,
      unrepresentable: "any",
      reused: "inline",
    }) as JsonSchema;
    delete json.$schema;
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
    delete json.$defs;
    const renames = new Map<string, string>();
    for (const [local, def] of Object.entries(defs)) {
      const fingerprint = JSON.stringify(def).replaceAll(`#/$defs/${local}"`, `#/$defs/SELF"`);
      let name = this.#byFingerprint.get(fingerprint);
      if (!name) {
        name = local === "__schema0" || /^__/.test(local)
          ? `Shared${this.#byFingerprint.size + 1}`
          : local;
        while (this.schemas[name]) name += "_";
        this.#byFingerprint.set(fingerprint, name);
        this.schemas[name] = def;
      }
      renames.set(local, name);
    }
    if (renames.size === 0) return json;
    const rewrite = (text: string) =>
      text.replace(
        /"#\/\$defs\/([^"]+)"/g,
        (_, local: string) => JSON.stringify(`#/components/schemas/${renames.get(local) ?? local}`),
      );
    for (const [local, name] of renames) {
      this.schemas[name] = JSON.parse(rewrite(JSON.stringify(defs[local])));
    }
    return JSON.parse(rewrite(JSON.stringify(json)));
  }
}
