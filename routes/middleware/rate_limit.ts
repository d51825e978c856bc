/**
 * The client identity of SDK calls for the rate limit's address scope. The limit itself is
 * taken inside the registry's and the events' scripts (lib/ratelimit), so it costs no round
 * trip of its own; this middleware only names the client (`c.var.client`).
 *
 * The client is the connection's remote address unless edgepush runs behind proxies it trusts
 * (`trustedProxyHops`): `X-Forwarded-For` is written by whoever sends the request, so only the
 * entries the trusted proxies appended can be believed, and a client rotating the header must
 * not get a fresh window each time.
 *
 * @module
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { getConnInfo } from "hono/deno";
import { clientScope } from "../../lib/ratelimit/mod.ts";
import type { AppEnv } from "../context.ts";

/**
 * The client address of a request. With `trustedProxyHops` = N > 0, the N-th `X-Forwarded-For`
 * entry from the right (the address the outermost trusted proxy saw); with 0 the remote
 * address. "unknown" when neither is known (`app.request()` in tests has no connection).
 */
export function clientAddress(c: Context, trustedProxyHops = 0): string {
  if (trustedProxyHops > 0) {
    const hops = (c.req.header("x-forwarded-for") ?? "").split(",").map((s) => s.trim())
      .filter(Boolean);
    const client = hops[Math.max(0, hops.length - trustedProxyHops)];
    if (client) return client.slice(0, 64);
  }
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Sets `c.var.client`: the caller's address scope (IPv6 by /64) for the rate limit. */
export function identifyClient(trustedProxyHops = 0) {
  return createMiddleware<AppEnv>(async function identifyClient(c, next) {
    c.set("client", clientScope(clientAddress(c, trustedProxyHops)));
    await next();
  });
}
