/**
 * `/v1/apps`: the admin API for apps, their credentials and server keys.
 *
 * @module
 */
import { Hono } from "hono";
import type { Apps } from "../lib/apps/mod.ts";
import { AppParam, CreateAppBody, UpdateAppBody } from "../lib/apps/mod.ts";
import type { AppEnv } from "./context.ts";
import { adminAuth } from "./middleware/auth.ts";
import { NoBody, NoQuery, validate } from "./middleware/validate.ts";

/** Admin routes; mounted at `/v1/apps`. */
export function appRoutes(deps: { apps: Apps; adminToken: string }) {
  const { apps } = deps;
  const admin = adminAuth(deps.adminToken);
  return new Hono<AppEnv>()
    .get("/", admin, validate("query", NoQuery), async (c) => {
      return c.json({ apps: await apps.list() });
    })
    .post("/", admin, validate("json", CreateAppBody), async (c) => {
      return c.json(await apps.create(c.req.valid("json")), 201);
    })
    .get("/:appId", admin, validate("param", AppParam), validate("query", NoQuery), async (c) => {
      return c.json(apps.view(await apps.get(c.req.valid("param").appId)));
    })
    .patch(
      "/:appId",
      admin,
      validate("param", AppParam),
      validate("json", UpdateAppBody),
      async (c) => {
        return c.json(await apps.update(c.req.valid("param").appId, c.req.valid("json")));
      },
    )
    .delete("/:appId", admin, validate("param", AppParam), validate("json", NoBody), async (c) => {
      await apps.remove(c.req.valid("param").appId);
      return c.body(null, 204);
    })
    .post(
      "/:appId/server-keys",
      admin,
      validate("param", AppParam),
      validate("json", NoBody),
      async (c) => {
        return c.json({ serverKey: await apps.rotateServerKey(c.req.valid("param").appId) }, 201);
      },
    );
}
