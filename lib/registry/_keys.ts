/**
 * Redis keys of the registry. Every key carries the `{appId}` hash tag so a Lua script that
 * touches several of them stays in one cluster slot. Lua scripts receive `prefix(appId)` and
 * build the same names; keep both in step.
 */
export const registryKeys = {
  /** `ep:v1:{appId}:` — passed to Lua as the key prefix. */
  prefix: (appId: string) => `ep:v1:{${appId}}:`,
  /** Hash: one installation (see lib/registry/installation.ts for the fields). */
  installation: (appId: string, id: string) => `ep:v1:{${appId}}:inst:${id}`,
  /** String: token → installation id. */
  token: (appId: string, token: string) => `ep:v1:{${appId}}:tok:${token}`,
  /** Sorted set: a user's installation ids, scored by lastSeenAt (ms). */
  user: (appId: string, userId: string) => `ep:v1:{${appId}}:user:${userId}`,
  /** Set: reachable installation ids of the app in one environment. */
  reachable: (appId: string, environment: "production" | "development") =>
    `ep:v1:{${appId}}:reach:${environment}`,
  /** Sorted set: every non-deleted installation id, scored by lastSeenAt (ms). */
  seen: (appId: string) => `ep:v1:{${appId}}:seen`,
};
