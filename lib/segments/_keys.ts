/**
 * Redis keys of segments. Same `{appId}` hash tag as the registry, because registry scripts
 * update segment reachable sets in the same atomic step.
 */
export const segmentKeys = {
  /** Set: every segment id of the app. */
  index: (appId: string) => `ep:v1:{${appId}}:segs`,
  /** Hash: name, rule (JSON), createdAt, updatedAt, syncedAt, report (JSON). */
  segment: (appId: string, segmentId: string) => `ep:v1:{${appId}}:seg:${segmentId}`,
  /** Set: uploaded member user ids. */
  members: (appId: string, segmentId: string) => `ep:v1:{${appId}}:seg:${segmentId}:members`,
  /** Set: the segment ids a user belongs to (reverse index for incremental updates). */
  userSegments: (appId: string, userId: string) => `ep:v1:{${appId}}:useg:${userId}`,
  /** Set: materialized reachable installation ids of a segment in one environment. */
  reachable: (appId: string, segmentId: string, environment: "production" | "development") =>
    `ep:v1:{${appId}}:seg:${segmentId}:reach:${environment}`,
};
