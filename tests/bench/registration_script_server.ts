/**
 * A second reference for the registration benchmark: the bare handler of
 * `registration_baseline_server.ts`, but its one Redis call is the registration itself
 * (`registry.register`, the rate limiter on, as `edgepush+ratelimit`). No app lookup, header
 * checks, validation, metrics or access log: what is left is the Redis work a registration
 * needs and the registry's own few steps (ids, the secret's hash, the reply). Its rate beside
 * the bare handler's is the most any server can reach with that Redis work on this machine;
 * edgepush's rate beside it is what the HTTP layers cost.
 *
 * `deno run -A tests/bench/registration_script_server.ts <port> <redis-url>`
 *
 * @module
 */
import { Hono } from "hono";
import { createRedis } from "../../lib/redis/mod.ts";
import { createRegistry } from "../../lib/registry/mod.ts";

const [port, url] = Deno.args;
const { redis } = createRedis({ kind: "tcp", url });
// High enough never to refuse, as in the edgepush+ratelimit run: the limiter's cost is measured.
const rule = { limit: 999_999_999, windowSeconds: 60 };
const registry = createRegistry({ redis, rateLimits: { address: rule, installation: rule } });
const app = new Hono()
  .get("/", (c) => c.text("ok"))
  .post("/v1/sdk/installations", async (c) => {
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
  });
Deno.serve({ port: Number(port), hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
