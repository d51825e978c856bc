/**
 * Composes the HTTP app: shared middleware, the single error handler, and one sub-app per
 * resource mounted with `app.route`.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { PayloadTooLarge } from "../lib/errors.ts";
import { streamedMemberFormat } from "../lib/segments/mod.ts";
import type { Services } from "../lib/services.ts";
import { createPreviewSender } from "../lib/test_sessions/preview.ts";
import { appRoutes } from "./apps.ts";
import type { AppEnv } from "./context.ts";
import { docsRoutes } from "./docs.ts";
import { notFound, onError } from "./errors.ts";
import { observe } from "./middleware/observe.ts";
import { SplitRouter } from "./router.ts";
import { opsRoutes } from "./ops.ts";
import { installationRoutes, userRoutes } from "./installations.ts";
import { sdkRoutes } from "./sdk.ts";
import { segmentRoutes } from "./segments.ts";
import { jobRoutes } from "./jobs.ts";
import { sendRoutes } from "./sends.ts";
import { testSessionRoutes } from "./test_sessions.ts";
import { consoleRoutes } from "./console/mod.ts";

/** Default request body limit: 1 MiB. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Everything the HTTP layer needs, built by main.ts (or a test). */
export interface AppDeps extends Services {
  adminToken: string;
  /** Proxies in front of edgepush whose `X-Forwarded-For` entries are believed. Default 0. */
  trustedProxyHops?: number;
}

/** Builds the Hono app. */
export function createApp(deps: AppDeps) {
  // The console's routes need Hono's slower router; the API's keep the fastest (routes/router.ts).
  const app = new Hono<AppEnv>({ router: new SplitRouter("/console") });
  app.onError(onError);
  app.notFound(notFound);
  app.use(observe(deps));
  app.use(async function limitBody(c, next) {
    // A streamed segment export (`?mode=replace` or append, text/NDJSON) is read in constant
    // memory by its handler, so it alone is exempt from the 1 MiB limit.
    if (isStreamedUpload(c.req.method, c.req.path, c.req.header("content-type"))) return next();
    // A declared length is checked without touching the body (as `bodyLimit` does, but before it
    // reads `c.req.raw.body`, which would build a ReadableStream per request for nothing).
    const declared = c.req.header("content-length");
    if (declared !== undefined && !c.req.raw.headers.has("transfer-encoding")) {
      if (parseInt(declared, 10) > BODY_LIMIT_BYTES) throw tooLarge(c.req.method, c.req.path);
      return next();
    }
    return await limit(c, next);
  });
  app.route("/", opsRoutes(deps));
  app.route("/", docsRoutes());
  app.route("/v1/apps", appRoutes(deps));
  app.route("/v1/sdk", sdkRoutes(deps));
  app.route("/v1/apps/:appId", installationRoutes(deps));
  app.route("/v1/apps/:appId", userRoutes(deps));
  app.route("/v1/apps/:appId/segments", segmentRoutes(deps));
  app.route("/v1/apps/:appId/jobs", jobRoutes(deps));
  app.route("/v1/apps/:appId/sends", sendRoutes(deps));
  const sendPreview = createPreviewSender(deps);
  app.route(
    "/v1",
    testSessionRoutes({
      apps: deps.apps,
      testSessions: deps.testSessions,
      verifyInstallationSecret: deps.registry.verifySecret,
      lookupInstallation: deps.registry.get,
      sendPreview,
    }),
  );
  app.route("/console", consoleRoutes({ ...deps, sendPreview }));
  return app;
}

const limit = bodyLimit({
  maxSize: BODY_LIMIT_BYTES,
  onError: (c) => {
    throw tooLarge(c.req.method, c.req.path);
  },
});

const MEMBERS_PATH = /^\/v1\/apps\/[^/]+\/segments\/[^/]+\/members$/;
/** The console's member upload streams the same way (routes/console/segments.tsx). */
const CONSOLE_MEMBERS_PATH = /^\/console\/apps\/[^/]+\/segments\/[^/]+\/members$/;

/** The 413, which on a member upload says how to send a list of any size. */
function tooLarge(method: string, path: string): PayloadTooLarge {
  if (method !== "POST" || !MEMBERS_PATH.test(path)) return new PayloadTooLarge(BODY_LIMIT_BYTES);
  return new PayloadTooLarge(
    BODY_LIMIT_BYTES,
    "stream a large member list instead (Content-Type: text/plain, one user id per line, or " +
      "application/x-ndjson; add ?mode=replace for a full export): streamed uploads have no size limit",
  );
}

/** A member upload that streams (the media types lib/segments reads line by line). */
function isStreamedUpload(method: string, path: string, contentType?: string): boolean {
  return method === "POST" && (MEMBERS_PATH.test(path) || CONSOLE_MEMBERS_PATH.test(path)) &&
    streamedMemberFormat(contentType) !== null;
}
