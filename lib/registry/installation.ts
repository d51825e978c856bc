/**
 * An installation as the registry reads it, and its readings: whether sends may target it, its API
 * view, and decoding it from a stored hash (through the codec, installation_codec.ts).
 *
 * @module
 */
import { decodeInstallation } from "./installation_codec.ts";
import type {
  EnvironmentName,
  InstallationStatusValue,
  InstallationViewData,
  PushAuthorizationValue,
} from "./schemas.ts";

/** An installation as the registry reads it: the API view plus the staleness flag. */
export interface Installation extends InstallationViewData {
  /** Set by the daily job when the installation was not seen for `STALE_AFTER_DAYS`. */
  stale: boolean;
}

/** True when sends may target the installation: active, has a token, not denied, not stale. */
export function isReachable(
  inst: Pick<
    Installation,
    "status" | "token" | "pushAuthorization" | "stale"
  >,
): boolean {
  return inst.status === "active" && !!inst.token && inst.pushAuthorization !== "denied" &&
    !inst.stale;
}

/** The API view of an installation (docs/api.md's shape, without internal fields). */
export function installationView(inst: Installation): InstallationViewData {
  const { stale: _stale, ...view } = inst;
  return view;
}

/**
 * Builds an {@linkcode Installation} from a stored hash (either layout); null for an empty
 * hash. `id` is the hash's installation id (the key's; layout v1 also stores it).
 */
export function parseInstallation(
  appId: string,
  hash: Record<string, unknown> | null | undefined,
  id?: string,
): Installation | null {
  const stored = decodeInstallation(hash);
  const installationId = id ?? (hash?.id === undefined ? "" : String(hash.id));
  if (!stored || !installationId) return null;
  return {
    installationId,
    appId,
    token: stored.token || null,
    environment: (stored.environment || "production") as EnvironmentName,
    userId: stored.userId || null,
    pushAuthorization: (stored.pushAuthorization || "authorized") as PushAuthorizationValue,
    attributes: stored.attributes,
    status: (stored.status || "active") as InstallationStatusValue,
    statusReason: stored.statusReason || null,
    statusAt: iso(stored.statusAt),
    registeredAt: iso(stored.registeredAt),
    lastSeenAt: iso(stored.lastSeenAt),
    stale: stored.stale === "1",
  };
}

function iso(ms: string): string | null {
  const n = Number(ms);
  return ms && Number.isFinite(n) ? new Date(n).toISOString() : null;
}
