/** Redis keys of SDK events. Same `{appId}` hash tag as the registry. */
export const eventKeys = {
  /** Hash: `delivered` / `opened` counters of one send. Read by the sends funnel. */
  counts: (appId: string, sendId: string) => `ep:v1:{${appId}}:send:${sendId}:events`,
  /** Set: `<type>:<installationId>` already counted for one send (expires; dedup window). */
  seen: (appId: string, sendId: string) => `ep:v1:{${appId}}:send:${sendId}:events:seen`,
};
