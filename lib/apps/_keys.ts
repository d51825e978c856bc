/** Redis keys of the apps area. Every per-app key carries the `{appId}` hash tag. */
export const appKeys = {
  /** Hash: the app record. */
  app: (appId: string) => `ep:v1:{${appId}}:app`,
  /** Prefix of every key that belongs to one app, for deletion by SCAN. */
  prefix: (appId: string) => `ep:v1:{${appId}}:`,
  /** Set of every app id, for jobs that iterate apps. */
  index: () => "ep:v1:apps",
};
