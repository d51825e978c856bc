/**
 * The single error handler: maps domain errors and Hono's HTTP exceptions to docs/api.md's JSON
 * error shape. Anything unknown is logged with the request id and answered as an opaque 500.
 *
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { EdgepushError, RateLimited } from "../lib/errors.ts";
import type { AppEnv } from "./context.ts";

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
    if (error instanceof RateLimited) c.header("Retry-After", String(error.retryAfterSeconds));
    // The client reconnects to Redis within about a second.
    if (error.status === 503) c.header("Retry-After", "1");
    if (error.status >= 500) {
      c.var.logger?.warn("request failed", {
        code: error.code,
        message: error.message,
        cause: error.cause instanceof Error ? error.cause.message : undefined,
      });
    }
    // deno-lint-ignore no-explicit-any
    return c.json(errorBody(error.code, error.message, error.details), error.status as any);
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
