/**
 * Redis keys of the APNs relay. Provider tokens are per (team, key), not per app, so they
 * carry the team id as the hash tag.
 *
 * @module
 */

/** Redis keys of the shared provider token. */
export const apnsKeys = {
  /** The shared token: JSON `{token, iat}` (iat in epoch ms). */
  jwt: (teamId: string, keyId: string) => `ep:v1:jwt:{${teamId}}:${keyId}`,
  /** The mint lock for that token. */
  jwtLock: (teamId: string, keyId: string) => `ep:v1:jwt:{${teamId}}:${keyId}:lock`,
};
