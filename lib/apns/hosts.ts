/**
 * Where APNs lives: its two environments, Apple's hosts for them, and the `host[:port]` form
 * the transport and the configuration compare hosts in.
 *
 * @module
 */

/** An APNs environment. */
export type ApnsEnvironment = "production" | "development";

/** Apple's hosts. */
export const APPLE_HOSTS: Record<ApnsEnvironment, string> = {
  production: "api.push.apple.com:443",
  development: "api.sandbox.push.apple.com:443",
};

/**
 * `host[:port]` of an APNs host, forgiving an `https://` prefix and a trailing slash: that is
 * how a mock's address is usually copied.
 */
export function bareHostPort(host: string): string {
  return host.replace(/^https:\/\//i, "").replace(/\/$/, "");
}

/** A `host[:port]` (443 when absent; `[v6]:port` too) split for a TLS connect. */
export function hostAndPort(host: string): { hostname: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  if (!match) throw new Error(`not a host[:port]: ${host}`);
  return { hostname: match[1].replace(/^\[|\]$/g, ""), port: Number(match[2] ?? 443) };
}
