/**
 * Baseline for the registration benchmark: a bare Hono handler that parses the JSON body and
 * makes one Redis call (SET token → id) through the same `@upstash/redis` TCP client, then
 * answers 201. No auth, validation or Lua: the floor for one round trip per request.
 *
 * `deno run -A tests/bench/registration_baseline_server.ts <port> <redis-url>`
 *
 * @module
 */
import { Hono } from "hono";
import { createRedis } from "../../lib/redis/mod.ts";

const [port, url] = Deno.args;
const { redis } = createRedis({ kind: "tcp", url });
let n = 0;
const app = new Hono().post("/v1/sdk/installations", async (c) => {
  const body = await c.req.json<{ token: string }>();
  const id = `b_${++n}`;
  await redis.set(`bench:tok:${body.token}`, id);
  return c.json({ installationId: id }, 201);
});
Deno.serve({ port: Number(port), hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
