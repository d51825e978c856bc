/**
 * The console's Hono environment and dependencies.
 *
 * @module
 */
import type { AppRecord } from "../../lib/apps/mod.ts";
import type { ConsoleSession } from "../../lib/console/mod.ts";
import type { Services } from "../../lib/services.ts";
import type { PreviewSender } from "../../lib/test_sessions/mod.ts";
import type { AppEnv } from "../context.ts";

/** What the console needs: the domain services plus the admin token and the preview sender. */
export interface ConsoleDeps extends Services {
  adminToken: string;
  /** Pushes a test-session preview now (the same sender as the API's). */
  sendPreview: PreviewSender;
  /** Proxies whose `X-Forwarded-For` entries are believed (sign-in throttling). Default 0. */
  trustedProxyHops?: number;
}

/** Context variables of console requests. */
export interface ConsoleEnv {
  Variables: AppEnv["Variables"] & {
    /** The signed-in session, when there is one. */
    session: ConsoleSession | null;
    /** The session cookie's value (to end it on sign-out). */
    sessionId: string | null;
    /** The app of an `/apps/:appId/…` page, checked against the session. */
    consoleApp: AppRecord;
  };
}
