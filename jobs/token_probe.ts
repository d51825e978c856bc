/**
 * The daily uninstall probe: main.ts registers {@linkcode TOKEN_PROBE_CRON_NAME} with
 * `Deno.cron` and runs lib/probe's `runTokenProbes` over every opted-in app. Settings are
 * changed with `PUT /v1/apps/:appId/jobs/token-probe`.
 *
 * @module
 */
import { runTokenProbes } from "../lib/probe/mod.ts";

export { runTokenProbes };

/** The `Deno.cron` name main.ts registers the daily probe under. */
export const TOKEN_PROBE_CRON_NAME = "edgepush-token-probe";
