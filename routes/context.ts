/**
 * The typed Hono environment shared by every sub-app.
 *
 * @module
 */
import type { AppRecord } from "../lib/apps/mod.ts";
import type { Logger } from "../lib/observability/logger.ts";

/** Context variables set by middleware. */
export interface AppEnv {
  Variables: {
    /** Set by the request-id middleware. */
    requestId: string;
    /** A logger carrying the request id. */
    logger: Logger;
    /** The app resolved by server or sdk auth. */
    app: AppRecord;
    /** The SDK caller's address scope for rate limits (set on `/v1/sdk` routes). */
    client: string;
  };
}
