/**
 * Calls and checks the installation route tests share: SDK and server headers, a registration,
 * the server's view of an installation, and membership of the app's reachable set.
 *
 * @module
 */
import { registryKeys } from "../../lib/registry/_keys.ts";
import { assertEquals } from "./assert.ts";
import type { Harness, TestApp } from "./harness.ts";

/** A valid 64-hex-digit APNs token, distinct for each `n`. */
export const hexToken = (n: number): string => n.toString(16).padStart(64, "0");

/** The headers of an SDK call: the app key, and the installation secret when given. */
export function sdkHeaders(app: TestApp, secret?: string): Record<string, string> {
  return {
    "x-app-key": app.appKey,
    ...(secret ? { authorization: `Bearer ${secret}` } : {}),
  };
}

/** The headers of a server call with the app's server key. */
export function serverHeaders(app: TestApp): Record<string, string> {
  return { authorization: `Bearer ${app.serverKey}` };
}

/** `POST /v1/sdk/installations` with `body`, as the SDK sends it. */
export async function register(
  h: Harness,
  app: TestApp,
  body: Record<string, unknown>,
  secret?: string,
): ReturnType<Harness["call"]> {
  return await h.call("POST", "/v1/sdk/installations", { headers: sdkHeaders(app, secret), body });
}

/** The server's view of an installation; asserts it exists. */
export async function viewInstallation(
  h: Harness,
  app: TestApp,
  id: string,
): Promise<Awaited<ReturnType<Harness["call"]>>["body"]> {
  const res = await h.call("GET", `/v1/apps/${app.appId}/installations/${id}`, {
    headers: serverHeaders(app),
  });
  assertEquals(res.status, 200);
  return res.body;
}

/** Whether the installation's bit is set in the app's reach bitmap for `environment`. */
export async function isReachable(
  h: Harness,
  app: TestApp,
  id: string,
  environment: "production" | "development" = "production",
): Promise<boolean> {
  const n = await h.testRedis.redis.hget<string>(registryKeys.installation(app.appId, id), "n");
  if (n === null || n === undefined) return false;
  return await h.testRedis.redis.getbit(
    registryKeys.reachable(app.appId, environment),
    Number(n),
  ) ===
    1;
}
