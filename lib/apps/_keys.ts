/** Redis keys of the apps area. Every per-app key carries the `{appId}` hash tag. */
export const appKeys = {
  /** Hash: the app record. */
  app: (appId: string) => `ep:v1:{${appId}}:app`,
  /** Prefix of every key that belongs to one app, for deletion by SCAN. */
  prefix: (appId: string) => `ep:v1:{${appId}}:`,
  /** Set of every app id, for jobs that iterate apps. */
  index: () => "ep:v1:apps",
  /** SCAN pattern of every app record. */
  anyApp: () => "ep:v1:{app_*}:app",
  /** The app id of an app record's key, or null. */
  appIdOf: (key: string) => /^ep:v1:\{(app_[0-9a-f]+)\}:app$/.exec(key)?.[1] ?? null,
};
