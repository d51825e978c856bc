/**
 * Redis keys of test sessions. Each carries the `{appId}` hash tag, so a code is only ever
 * looked up inside the app that authenticated the request: another app's key cannot see it.
 */
export const testSessionKeys = {
  /**
   * Hash, TTL = the session's lifetime: `createdAt`, `expiresAt` (epoch ms) and one
   * `dev:<installationId>` field per bound device (value: bound-at epoch ms).
   */
  session: (appId: string, code: string) => `ep:v1:{${appId}}:tsess:${code}`,
  /**
   * String, TTL = the tombstone lifetime (longer than the session's): the session's
   * `expiresAt`. It outlives the session, so an expired code answers 410 and an unknown one 404.
   */
  tombstone: (appId: string, code: string) => `ep:v1:{${appId}}:tsess:${code}:tomb`,
};
