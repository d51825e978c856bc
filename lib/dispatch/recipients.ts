/**
 * Who can be pushed to: the skip rules every dispatch caller applies to installations, and the
 * relay recipient made from one that passes.
 *
 * @module
 */
import type { Recipient } from "../apns/mod.ts";
import { isReachable, type SendableInstallation } from "../registry/mod.ts";

/** Why an installation is skipped, or null when it can be sent to. */
export function skipReason(
  inst: SendableInstallation | null,
  environment: "production" | "development" | null,
): string | null {
  if (!inst) return "NotFound";
  if (inst.pushAuthorization === "denied") return "Denied";
  if (inst.status !== "active") return `Inactive:${inst.status}`;
  if (!inst.token) return "NoToken";
  if (!isReachable(inst)) return "Stale";
  if (environment && inst.environment !== environment) return "EnvironmentFiltered";
  return null;
}

/** A recipient from an installation that passed {@linkcode skipReason}. */
export function toRecipient(inst: SendableInstallation): Recipient {
  return {
    installationId: inst.installationId,
    token: inst.token!,
    environment: inst.environment,
    registeredAt: inst.registeredAtMs,
  };
}
