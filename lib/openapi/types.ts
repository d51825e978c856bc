/**
 * The operation list that the OpenAPI builder turns into a document. Each entry names the zod
 * schemas that really validate the route, so the reference cannot drift from the code.
 *
 * @module
 */
import type { z } from "zod";

/** HTTP methods the API uses. */
export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/**
 * How an operation authenticates:
 * - `admin`: `Authorization: Bearer $ADMIN_TOKEN`;
 * - `server`: `Authorization: Bearer <server key>` of the app in the path;
 * - `sdk`: `X-App-Key: <app key>`;
 * - `sdkSecret`: `X-App-Key` plus `Authorization: Bearer <installation secret>`;
 * - `none`: public.
 */
export type AuthKind = "admin" | "server" | "sdk" | "sdkSecret" | "none";

/** One response of an operation. */
export interface ResponseSpec {
  description: string;
  /** The body's schema (validated output shape). Omit for an empty body. */
  schema?: z.ZodType;
  /** Default: `application/json`. */
  contentType?: string;
  /** Response headers, name → description. */
  headers?: Record<string, string>;
}

/** A request body: one JSON schema, or several content types. */
export type BodySpec =
  | z.ZodType
  | { content: Record<string, z.ZodType | null>; description?: string; required?: boolean };

/** One operation: a method on a path, with the schemas that validate it. */
export interface OperationSpec {
  method: HttpMethod;
  /** Hono-style path, `:param` for parameters (converted to `{param}`). */
  path: string;
  summary: string;
  /** Longer Markdown description. */
  description?: string;
  /** Grouping in the reference; the first tag places the operation. */
  tags: string[];
  auth: AuthKind;
  /** Path parameters (a zod object). Parameters missing from it are documented as strings. */
  params?: z.ZodObject;
  /** Query parameters (a zod object). */
  query?: z.ZodObject;
  /** Request headers other than authentication (a zod object, e.g. `Idempotency-Key`). */
  headers?: z.ZodObject;
  /** The request body. */
  body?: BodySpec;
  /** Success responses by status code. Error responses are added from the error shape. */
  responses: Record<number, ResponseSpec>;
  /** Extra error statuses this operation can answer (400/401/404/413 are inferred). */
  errors?: number[];
  /** Default: derived from method and path. */
  operationId?: string;
}
