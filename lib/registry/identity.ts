/**
 * Identity verification: apps with `requireUserSignature` accept a `userId` only with
 * `userSignature` = hex HMAC-SHA256(userSigningSecret, userId), computed by the app's backend.
 *
 * @module
 */
import type { AppRecord, Apps } from "../apps/mod.ts";
import { verifyHmacSha256Hex } from "../auth/hmac.ts";
import { InvalidUserSignature } from "./errors.ts";

/**
 * Checks the signature of a `userId` when the app requires one; a no-op otherwise.
 * @throws {InvalidUserSignature} (403) when the signature is missing or wrong.
 */
export async function verifyUserIdentity(
  apps: Pick<Apps, "userSigningSecret">,
  app: AppRecord,
  claim: { userId: string; userSignature?: string },
): Promise<void> {
  if (!app.requireUserSignature) return;
  const secret = await apps.userSigningSecret(app);
  if (
    !secret || !claim.userSignature ||
    !(await verifyHmacSha256Hex(secret, claim.userId, claim.userSignature))
  ) {
    throw new InvalidUserSignature();
  }
}
