/**
 * `/v1/apps/:appId/sends`: campaign sends (server key). Handlers validate, call lib/sends and
 * map the result; resolution and delivery happen in the workers.
 *
 * @module
 */
import { Hono } from "hono";
import type { Apps } from "../lib/apps/mod.ts";
import { AppParam } from "../lib/apps/mod.ts";
import { CreateSendBody, ListSendsQuery, SendParam, type Sends } from "../lib/sends/mod.ts";
import type { AppEnv } from "./context.ts";
import { serverAuth } from "./middleware/auth.ts";
import { NoBody, NoQuery, validate } from "./middleware/validate.ts";

/** Send routes; mounted at `/v1/apps/:appId/sends`. */
export function sendRoutes(deps: { apps: Apps; sends: Sends }) {
  const { sends } = deps;
  return new Hono<AppEnv>()
    .use(serverAuth(deps.apps))
    .post("/", validate("param", AppParam), validate("json", CreateSendBody), async (c) => {
      const result = await sends.create(
        c.var.app,
        c.req.valid("json"),
        c.req.header("idempotency-key"),
      );
      return c.json(result.body, result.kind === "delivered" ? 200 : 202);
    })
    .get("/", validate("param", AppParam), validate("query", ListSendsQuery), async (c) => {
      const { appId } = c.req.valid("param");
      return c.json({ sends: await sends.list(appId, c.req.valid("query").limit) });
    })
    .get("/:sendId", validate("param", SendParam), validate("query", NoQuery), async (c) => {
      const { appId, sendId } = c.req.valid("param");
      return c.json(await sends.get(appId, sendId));
    })
    .post("/:sendId/cancel", validate("param", SendParam), validate("json", NoBody), async (c) => {
      const { appId, sendId } = c.req.valid("param");
      return c.json(await sends.cancel(appId, sendId));
    });
}
