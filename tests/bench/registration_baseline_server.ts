/**
 * The registration benchmark's reference servers: a bare Hono handler that parses the JSON body,
 * makes one Redis call through the same `@upstash/redis` TCP client as edgepush, and answers.
 * No app lookup, header checks, validation, metrics or access log.
 *
 * - `set` (default): the call is `SET token → id`, answered 201: the floor for one round trip
 *   per request.
 * - `register`: the call is the registration itself (`registry.register`, the rate limiter on,
 *   as the `edgepush+ratelimit` run). What is left is the Redis work a registration needs and the
 *   registry's own few steps (ids, the secret's hash, the reply): its rate beside `set`'s is the
 *   most any server can reach with that Redis work on this machine, and edgepush's rate beside
 *   it is what the HTTP layers cost.
 *
 * `deno run -A tests/bench/registration_baseline_server.ts <port> <redis-url> [set|register]`
 *
 * @module
 */
import { Hono } from "hono";
import type { Handler } from "hono";
import { createRedis } from "../../lib/redis/mod.ts";
import { createRegistry } from "../../lib/registry/mod.ts";

const [port, url, call = "set"] = Deno.args;
const { redis } = createRedis({ kind: "tcp", url });

function setHandler(): Handler {
  let n = 0;
  return async (c) => {
    const body = await c.req.json<{ token: string }>();
    const id = `b_${++n}`;
    await redis.set(`bench:tok:${body.token}`, id);
    return c.json({ installationId: id }, 201);
  };
}

function registerHandler(): Handler {
  // High enough never to refuse, as in the edgepush+ratelimit run: the limiter's cost is measured.
  const rule = { limit: 999_999_999, windowSeconds: 60 };
  const registry = createRegistry({ redis, rateLimits: { address: rule, installation: rule } });
  return async (c) => {
    const body = await c.req.json<{ token: string; attributes: Record<string, string> }>();
    const result = await registry.register("app_script_reference", {
      token: body.token,
      environment: "production",
      attributes: body.attributes,
      client: "127.0.0.1",
    });
    if (!result.created) return c.json({ installationId: result.installationId }, 200);
    return c.json({
      installationId: result.installationId,
      installationSecret: result.installationSecret,
    }, 201);
  };
}

if (call !== "set" && call !== "register") throw new Error(`unknown call: ${call}`);
const app = new Hono().post(
  "/v1/sdk/installations",
  call === "set" ? setHandler() : registerHandler(),
);
Deno.serve({ port: Number(port), hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
