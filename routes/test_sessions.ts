/**
 * Test sessions: a marketer creates a code (server key), a test device binds itself by scanning
 * the QR code (SDK app key + installation secret), and previews go to the bound devices now.
 * Mounted at `/v1`, since the routes live under both `/v1/apps/:appId` and `/v1/sdk`.
 *
 * @module
 */
import { Hono } from "hono";
import type { Apps } from "../lib/apps/mod.ts";
import { Unauthorized } from "../lib/errors.ts";
import {
  BindTestDeviceBody,
  CreateTestSessionBody,
  type InstallationLookup,
  PreviewSendBody,
  type PreviewSender,
  TestSessionAppParam,
  TestSessionCodeParam,
  TestSessionParam,
  type TestSessions,
} from "../lib/test_sessions/mod.ts";
import type { AppEnv } from "./context.ts";
import { bearer, sdkAuth, serverAuth } from "./middleware/auth.ts";
import { NoQuery, validate } from "./middleware/validate.ts";

/** What the test-session routes need. */
export interface TestSessionRouteDeps {
  apps: Apps;
  testSessions: TestSessions;
  /** Checks an installation secret; resolves truthy when it is the installation's. */
  verifyInstallationSecret: (appId: string, id: string, secret: string) => Promise<boolean>;
  /** Reads an installation for the device list. */
  lookupInstallation: InstallationLookup;
  /** Pushes a preview to installations now. */
  sendPreview: PreviewSender;
}

/** Test-session routes; mounted at `/v1`. */
export function testSessionRoutes(deps: TestSessionRouteDeps) {
  const { testSessions } = deps;
  const server = serverAuth(deps.apps);
  return new Hono<AppEnv>()
    .post(
      "/apps/:appId/test-sessions",
      server,
      validate("param", TestSessionAppParam),
      validate("json", CreateTestSessionBody),
      async (c) => c.json(await testSessions.create(c.var.app), 201),
    )
    .get(
      "/apps/:appId/test-sessions/:code",
      server,
      validate("param", TestSessionParam),
      validate("query", NoQuery),
      async (c) => {
        const { appId, code } = c.req.valid("param");
        return c.json(await testSessions.describe(appId, code, deps.lookupInstallation));
      },
    )
    .post(
      "/apps/:appId/test-sessions/:code/sends",
      server,
      validate("param", TestSessionParam),
      validate("json", PreviewSendBody),
      async (c) => {
        const { appId, code } = c.req.valid("param");
        const input = c.req.valid("json");
        return c.json({
          results: await testSessions.preview(appId, code, input, deps.sendPreview),
        });
      },
    )
    .post(
      "/sdk/test-sessions/:code/devices",
      sdkAuth(deps.apps),
      validate("param", TestSessionCodeParam),
      validate("json", BindTestDeviceBody),
      async (c) => {
        const { code } = c.req.valid("param");
        const { installationId } = c.req.valid("json");
        const secret = bearer(c.req.header("authorization"));
        if (!secret) throw new Unauthorized("installation secret required");
        const appId = c.var.app.appId;
        if (!(await deps.verifyInstallationSecret(appId, installationId, secret))) {
          throw new Unauthorized("invalid installation secret");
        }
        const session = await testSessions.bind(
          appId,
          code,
          installationId,
          deps.lookupInstallation,
        );
        return c.json({
          code,
          installationId,
          expiresAt: new Date(session.expiresAt).toISOString(),
        });
      },
    );
}
