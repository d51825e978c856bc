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

/** Requires the admin token. */
export function adminAuth(adminToken: string) {
  if (adminToken.length < 16) throw new Error("admin token must be at least 16 characters");
  return createMiddleware<AppEnv>(async function adminAuth(c, next) {
    const presented = bearer(c.req.header("authorization"));
    if (!presented || !(await safeEqual(presented, adminToken))) {
      throw new Unauthorized("admin token required");
    }
    await next();
  });
}

/** Requires a server key valid for the `:appId` in the path; sets `c.var.app`. */
export function serverAuth(apps: Apps) {
  return createMiddleware<AppEnv>(async function serverAuth(c, next) {
    const presented = bearer(c.req.header("authorization"));
    if (!presented) throw new Unauthorized("server key required");
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
