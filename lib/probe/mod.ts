/**
 * The uninstall probe: per-app settings, the silent push to long-unseen installations through
 * the one dispatch path, and the last run's report.
 *
 * @module
 */
export * from "./probe.ts";
export * from "./schemas.ts";
