/**
 * The console's safety middleware: security headers with a strict Content-Security-Policy,
 * the same-origin check on every state-changing request, the Redis-backed session cookie and
 * the per-session CSRF token.
 *
 * @module
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { safeEqual, sha256Hex } from "../../lib/auth/secrets.ts";
import type { ConsoleSession, ConsoleSessions } from "../../lib/console/mod.ts";
import { Forbidden } from "../../lib/errors.ts";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";

/**
 * Scripts and styles only from edgepush itself; images also from `data:` (the QR code) and
 * https (a notification's image in the composer's preview); nothing may frame the console.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: https:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** A cross-site request to a console action. */
export class CrossSiteRequest extends Forbidden {
  override name = "CrossSiteRequest";
  constructor() {
    super("this request came from another site, so the console refused it");
  }
}

/** A console action without the session's CSRF token. */
export class MissingCsrfToken extends Forbidden {
  override name = "MissingCsrfToken";
  constructor() {
    super("the form's security token is missing or stale: reload the page and try again");
  }
}

/** Sets the CSP and the other security headers on every console response. */
export function securityHeaders() {
  return createMiddleware<ConsoleEnv>(async function securityHeaders(c, next) {
    await next();
    c.header("Content-Security-Policy", CONSOLE_CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "same-origin");
    if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
  });
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The host the browser addressed (behind trusted proxies, the one they forwarded). */
function requestHost(c: Context, trustedProxyHops: number): string {
  const forwarded = trustedProxyHops > 0 ? c.req.header("x-forwarded-host") : undefined;
  return (forwarded ?? c.req.header("host") ?? new URL(c.req.url).host).toLowerCase();
}

/**
 * True unless the browser says the request came from another site: `Origin` (sent by browsers
 * on every POST), else `Sec-Fetch-Site`, else `Referer`. A client sending none of them is not
 * a browser being abused; signed-in actions still need the CSRF token.
 */
export function isSameOrigin(c: Context, trustedProxyHops = 0): boolean {
  const host = requestHost(c, trustedProxyHops);
  const sameHost = (url: string) => {
    try {
      return new URL(url).host.toLowerCase() === host;
    } catch {
      return false;
    }
  };
  const origin = c.req.header("origin");
  if (origin !== undefined) return origin !== "null" && sameHost(origin);
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined) return site === "same-origin" || site === "none";
  const referer = c.req.header("referer");
  if (referer !== undefined) return sameHost(referer);
  return true;
}

/** Refuses (403) any state-changing request that came from another site. */
export function sameOriginOnly(trustedProxyHops = 0) {
  return createMiddleware<ConsoleEnv>(async function sameOriginOnly(c, next) {
    if (!SAFE_METHODS.has(c.req.method) && !isSameOrigin(c, trustedProxyHops)) {
      // Logged so an operator whose proxy rewrites Host can tell it from an attack.
      c.var.logger?.warn("console refused a cross-site request", {
        origin: c.req.header("origin")?.slice(0, 200),
        secFetchSite: c.req.header("sec-fetch-site"),
        host: requestHost(c, trustedProxyHops).slice(0, 200),
      });
      throw new CrossSiteRequest();
    }
    await next();
  });
}

/** True when the console is reached over https (directly or through a TLS-terminating proxy). */
export function isSecure(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" ||
    c.req.header("x-forwarded-proto")?.split(",")[0].trim() === "https";
}

/** The session cookie's name: `__Host-` prefixed (so Secure and host-only) over https. */
export function cookieName(c: Context): string {
  return isSecure(c) ? "__Host-edgepush_console" : "edgepush_console";
}

/** Sets the session cookie: HttpOnly, SameSite=Strict, Secure over https, idle Max-Age. */
export function setSessionCookie(c: Context, id: string, maxAgeMs: number) {
  setCookie(c, cookieName(c), id, {
    path: "/",
    httpOnly: true,
    sameSite: "Strict",
    secure: isSecure(c),
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}

/** Clears the session cookie. */
export function clearSessionCookie(c: Context) {
  deleteCookie(c, cookieName(c), { path: "/", secure: isSecure(c) });
}

/**
 * Loads the session named by the cookie into `c.var.session`. A session whose credential was
 * rotated since sign-in (a new server key, another admin token) or whose app is gone is ended.
 */
export function loadSession(sessions: ConsoleSessions, deps: ConsoleDeps) {
  let adminHash: Promise<string> | undefined;
  async function stillValid(session: ConsoleSession): Promise<boolean> {
    if (session.scope === "admin") {
      adminHash ??= sha256Hex(deps.adminToken);
      return await safeEqual(session.credentialHash, await adminHash);
    }
    const record = await deps.apps.get(session.appId).catch(() => null);
    return !!record && await safeEqual(session.credentialHash, record.serverKeyHash);
  }
  return createMiddleware<ConsoleEnv>(async function loadSession(c, next) {
    const id = getCookie(c, cookieName(c)) ?? null;
    let session = id ? await sessions.read(id) : null;
    if (session && !(await stillValid(session))) {
      await sessions.destroy(id!);
      session = null;
    }
    c.set("session", session);
    c.set("sessionId", session ? id : null);
    await next();
    // The idle timeout was renewed in Redis; the cookie's Max-Age follows it (unless the
    // request ended the session or replaced the cookie).
    if (session && id && !c.res.headers.get("set-cookie")) {
      setSessionCookie(c, id, sessions.idleMs);
    }
  });
}

/**
 * Requires the session's CSRF token on state-changing requests: the `x-csrf-token` header
 * (fetches and uploads) or the form's `_csrf` field.
 */
export function csrfToken() {
  return createMiddleware<ConsoleEnv>(async function csrfToken(c, next) {
    const session = c.var.session;
    if (SAFE_METHODS.has(c.req.method) || !session) return await next();
    let presented = c.req.header("x-csrf-token");
    const type = c.req.header("content-type") ?? "";
    if (!presented && /^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) {
      const value = (await c.req.parseBody())["_csrf"];
      presented = typeof value === "string" ? value : undefined;
    }
    if (!presented || !(await safeEqual(presented, session.csrf))) throw new MissingCsrfToken();
    await next();
  });
}
