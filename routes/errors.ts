/**
 * The single error handler: maps domain errors and Hono's HTTP exceptions to docs/api.md's JSON
 * error shape. Anything unknown is logged with the request id and answered as an opaque 500.
 *
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  Conflict,
  EdgepushError,
  Forbidden,
  Gone,
  NotFound,
  PayloadTooLarge,
  RateLimited,
  Unauthorized,
  Unavailable,
  ValidationFailed,
} from "../lib/errors.ts";
import type { AppEnv } from "./context.ts";

/** The stable error codes of the HTTP API. */
export type ErrorCode =
  | "validation_failed"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "gone"
  | "payload_too_large"
  | "rate_limited"
  | "unavailable"
  | "internal";

// deno-lint-ignore no-explicit-any
type ErrorClass = abstract new (...args: any[]) => EdgepushError;

/**
 * The one place domain errors become HTTP answers: the first class the error is an instance of
 * gives the status and code (subclasses such as `AppNotFound` answer as their base class).
 */
const ANSWERS: ReadonlyArray<readonly [ErrorClass, ContentfulStatusCode, ErrorCode]> = [
  [ValidationFailed, 400, "validation_failed"],
  [Unauthorized, 401, "unauthorized"],
  [Forbidden, 403, "forbidden"],
  [NotFound, 404, "not_found"],
  [Conflict, 409, "conflict"],
  [Gone, 410, "gone"],
  [PayloadTooLarge, 413, "payload_too_large"],
  [RateLimited, 429, "rate_limited"],
  [Unavailable, 503, "unavailable"],
];

/** The HTTP status and API code of a domain error (500 `internal` for an unmapped class). */
export function httpAnswer(
  error: EdgepushError,
): { status: ContentfulStatusCode; code: ErrorCode } {
  for (const [type, status, code] of ANSWERS) {
    if (error instanceof type) return { status, code };
  }
  return { status: 500, code: "internal" };
}

const codeByStatus: Record<number, string> = {
  400: "validation_failed",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "not_found",
  409: "conflict",
  413: "payload_too_large",
  429: "rate_limited",
  503: "unavailable",
};

/** Builds the `{error:{code,message,details}}` body. */
export function errorBody(code: string, message: string, details: unknown[] = []) {
  return { error: { code, message, details } };
}

/** Hono `onError` handler. */
export function onError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof EdgepushError) {
    const { status, code } = httpAnswer(error);
    if (error instanceof RateLimited) c.header("Retry-After", String(error.retryAfterSeconds));
    // The client reconnects to Redis within about a second.
    if (error instanceof Unavailable) c.header("Retry-After", "1");
    if (status >= 500) {
      c.var.logger?.warn("request failed", {
        code,
        message: error.message,
        cause: error.cause instanceof Error ? error.cause.message : undefined,
      });
    }
    return c.json(errorBody(code, error.message, error.details), status);
  }
  if (error instanceof HTTPException) {
    const status = error.status;
    const code = codeByStatus[status] ?? (status >= 500 ? "internal" : "validation_failed");
    const message = status === 400 && /json/i.test(error.message)
      ? "malformed JSON in request body"
      : error.message || "request failed";
    return c.json(errorBody(code, message), status);
  }
  (c.var.logger ?? console).error?.("unhandled error", {
    name: error.name,
    message: error.message,
    stack: error.stack,
  });
  return c.json(errorBody("internal", "internal error", [{ requestId: c.var.requestId }]), 500);
}

/** Hono `notFound` handler. */
export function notFound(c: Context<AppEnv>): Response {
  return c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404);
}
