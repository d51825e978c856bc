/**
 * Composes the marketer console at `/console`: server-rendered pages (Hono JSX) over the same lib/
 * services as the API, with one small script module and one stylesheet served from here. It
 * never calls the HTTP API of its own process, and keeps all of its state in Redis.
 *
 * @module
 */
import { httpAnswer } from "../errors.ts";
import type { Context } from "hono";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { AppNotFound } from "../../lib/apps/mod.ts";
import { createConsoleSessions, createSignInThrottle } from "../../lib/console/mod.ts";
import { EdgepushError, Forbidden } from "../../lib/errors.ts";
import { appOverviewPages } from "./app_overview.tsx";
import { appPages } from "./apps.tsx";
import { assetRoutes } from "./assets.ts";
import { Notice } from "./components.tsx";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";
import { diagnosePages } from "./diagnose.tsx";
import { Layout } from "./layout.tsx";
import { segmentPages } from "./segments.tsx";
import { csrfToken, loadSession, sameOriginOnly, securityHeaders } from "./security.ts";
import { sendPages } from "./sends.tsx";
import { SignInPage, signInRoutes } from "./sign_in.tsx";
import { testDevicePages } from "./test_devices.tsx";

/** The console sub-app; mount it at `/console`. */
export function consoleRoutes(deps: ConsoleDeps) {
  const sessions = createConsoleSessions({ redis: deps.redis, now: deps.options.now });
  const throttle = createSignInThrottle({ redis: deps.redis, now: deps.options.now });
  const app = new Hono<ConsoleEnv>();
  app.onError(errorPage);
  app.notFound((c) => errorPage(new HTTPException(404, { message: "no such page" }), c));
  app.use(securityHeaders());
  app.route("/", assetRoutes());
  app.use(sameOriginOnly(deps.trustedProxyHops ?? 0));
  app.use(loadSession(sessions, deps));
  app.route("/", signInRoutes(deps, sessions, throttle));
  app.use(async function signedIn(c, next) {
    if (c.var.session) return await csrfToken()(c, next);
    if (c.req.method === "GET" && c.req.path === "/console") {
      return c.html(<SignInPage />);
    }
    // A page asked for after the session ended: sign in again, then start over.
    if (c.req.header("x-console") === "1") return c.body("", 401);
    return c.redirect("/console", 303);
  });
  app.route("/", appPages(deps));
  app.use("/apps/:appId/*", appAccess(deps));
  app.use("/apps/:appId", appAccess(deps));
  app.route("/apps/:appId", appOverviewPages(deps));
  app.route("/apps/:appId/test-devices", testDevicePages(deps));
  app.route("/apps/:appId/segments", segmentPages(deps));
  app.route("/apps/:appId/sends", sendPages(deps));
  app.route("/apps/:appId/diagnose", diagnosePages(deps));
  return app;
}

/** Loads the app of `/apps/:appId/…` into `c.var.consoleApp`; a server-key session sees its own. */
function appAccess(deps: ConsoleDeps) {
  return createMiddleware<ConsoleEnv>(async function appAccess(c, next) {
    const appId = c.req.param("appId") ?? "";
    const session = c.var.session!;
    if (session.scope === "app" && session.appId !== appId) {
      throw new Forbidden("this server key belongs to another app");
    }
    if (!/^app_[0-9a-f]{24}$/.test(appId)) throw new AppNotFound();
    c.set("consoleApp", await deps.apps.get(appId));
    await next();
  });
}

/** Errors as pages: the status of the domain error, its message, and a way back. */
function errorPage(error: Error, c: Context<ConsoleEnv>): Response | Promise<Response> {
  let status = 500;
  let message = "Something went wrong on our side; it has been logged.";
  if (error instanceof EdgepushError) {
    status = httpAnswer(error).status;
    message = error.message;
  } else if (error instanceof HTTPException) {
    status = error.status;
    message = error.message || "request failed";
  } else {
    c.var.logger?.error("console error", { name: error.name, message: error.message });
  }
  if (status === 503) c.header("Retry-After", "1");
  const title = status === 403
    ? "Refused"
    : status === 404
    ? "Not found"
    : status >= 500
    ? "Error"
    : "Cannot do that";
  return c.html(
    <Layout title={title} session={c.var.session ?? null}>
      <Notice kind="bad">{sentence(message)}</Notice>
      <p>
        <a href="/console">Back to the console</a>
      </p>
    </Layout>,
    // deno-lint-ignore no-explicit-any
    status as any,
  );
}

function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
