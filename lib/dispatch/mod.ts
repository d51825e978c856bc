/**
 * The one push path: credential choice, rendering, retry rounds, APNs feedback into the
 * registry and credential errors, for every caller (sends, previews, the uninstall probe, the
 * push CLI). Callers say what to send to whom and get typed per-recipient outcomes back.
 *
 * @module
 */
export * from "./dispatcher.ts";
export * from "./credential.ts";
export * from "./render.ts";
export * from "./schemas.ts";
export * from "./recipients.ts";
export * from "./feedback.ts";
export { isTransient, MAX_ROUND_WAIT_MS } from "./retry.ts";
export { runPushCli } from "./push_cli.ts";
