/**
 * The token registry: installations, APNs tokens, users and the app's reachable sets, each
 * change one Lua script (see scripts/).
 *
 * @module
 */
export * from "./errors.ts";
export * from "./identity.ts";
export {
  appsAwaitingMigration,
  migrateRegistry,
  REGISTRY_LAYOUT,
  runMigrateCli,
} from "./migrate.ts";
export type { MigrateOptions, MigrateReport } from "./migrate.ts";
export { decodeInstallation, installationCodecLua } from "./installation_codec.ts";
export type { StoredInstallation } from "./installation_codec.ts";
export * from "./registry.ts";
export type { SendableInstallation } from "./sendable.ts";
export * from "./schemas.ts";
export type { InstallationSummary } from "./app_indexes.ts";
