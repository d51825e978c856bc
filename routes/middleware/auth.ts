/**
 * Authentication middleware: admin bearer token, server keys (per app) and SDK app keys.
 *
 * @module
 */
import { createMiddleware } from "hono/factory";
import type { Apps } from "../../lib/apps/mod.ts";
import { safeEqual } from "../../lib/auth/secrets.ts";
import { Unauthorized } from "../../lib/errors.ts";
import type { AppEnv } from "../context.ts";

/** Reads `Authorization: Bearer <token>`; null when absent or malformed. */
export function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S{1,512})$/i.exec(header ?? "");
  return match ? match[1] : null;
}

const SERVER_KEY_WANTED = "this route takes the app's server key (sk_…, shown once by " +
  "POST /v1/apps, reissued by POST /v1/apps/:appId/server-keys) as " +
  "`Authorization: Bearer <serverKey>`";
const ADMIN_TOKEN_WANTED = "this route takes the admin token (ADMIN_TOKEN) as " +
  "`Authorization: Bearer <adminToken>`";

/**
 * The bearer credential of a request, or an {@linkcode Unauthorized} that says what was wrong
 * with the header and which credential the route wants.
 */
function requireBearer(header: string | undefined, wanted: string): string {
  const presented = bearer(header);
  if (presented) return presented;
  if (!header) throw new Unauthorized(`missing Authorization header: ${wanted}`);
  if (!/^Bearer\s/i.test(header)) {
    throw new Unauthorized(`the Authorization header lacks the "Bearer " prefix: ${wanted}`);
  }
  throw new Unauthorized(`malformed Authorization header: ${wanted}`);
}

/** Requires the admin token. */
export function adminAuth(adminToken: string) {
  if (adminToken.length < 16) throw new Error("admin token must be at least 16 characters");
  return createMiddleware<AppEnv>(async function adminAuth(c, next) {
    const presented = requireBearer(c.req.header("authorization"), ADMIN_TOKEN_WANTED);
    if (!(await safeEqual(presented, adminToken))) {
      throw new Unauthorized(
        presented.startsWith("sk_")
          ? `a server key works only on its app's routes; ${ADMIN_TOKEN_WANTED}`
          : `invalid admin token: ${ADMIN_TOKEN_WANTED}`,
      );
    }
    await next();
  });
}

/** Requires a server key valid for the `:appId` in the path; sets `c.var.app`. */
export function serverAuth(apps: Apps) {
  return createMiddleware<AppEnv>(async function serverAuth(c, next) {
    const presented = requireBearer(c.req.header("authorization"), SERVER_KEY_WANTED);
    if (!presented.startsWith("sk_")) {
      // The admin token, an app key or an installation secret: name the one wanted.
      throw new Unauthorized(
        `not a server key (the admin token and app keys are not accepted here): ${SERVER_KEY_WANTED}`,
      );
    }
    c.set("app", await apps.authenticateServer(c.req.param("appId") ?? "", presented));
    await next();
  });
}

/** Requires an SDK app key in `X-App-Key`; sets `c.var.app`. */
export function sdkAuth(apps: Apps) {
  return createMiddleware<AppEnv>(async function sdkAuth(c, next) {
    const appKey = c.req.header("x-app-key");
    if (!appKey || appKey.length > 128) throw new Unauthorized("X-App-Key header required");
    c.set("app", await apps.authenticateSdk(appKey));
    await next();
  });
}
