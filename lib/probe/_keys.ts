/** Redis keys of the uninstall probe (private to lib/probe). Same `{appId}` hash tag as the rest. */
export const probeKeys = {
  /** Hash: settings `{enabled: "0"|"1", afterDays, ratePerSecond}`. */
  settings: (appId: string) => `ep:v1:{${appId}}:probe`,
  /** Sorted set: installation ids probed, scored by the probe time (ms). */
  probed: (appId: string) => `ep:v1:{${appId}}:probed`,
  /** String: JSON report of the last probe run. */
  report: (appId: string) => `ep:v1:{${appId}}:probe:report`,
};
