/**
 * Server-key routes of the registry, mounted under `/v1/apps/:appId`:
 * `GET /installations/:id` → 200 installation view; `GET /installations/:id/diagnosis` → 200
 * "why didn't it arrive?" `{installationId, ok, checks}` (`?segmentId=` adds that segment); `GET /users/:userId` → 200
 * `{userId, installations}`; `DELETE /users/:userId` → 204 (erased with every installation,
 * and from every segment's members). Unknown installation or user → 404.
 *
 * @module
 */
import { Hono } from "hono";
import type { Apps } from "../lib/apps/mod.ts";
import { DiagnosisQuery, type DiagnosisService } from "../lib/diagnosis/mod.ts";
import {
  InstallationNotFound,
  installationView,
  type Registry,
  ServerInstallationParam,
  ServerUserParam,
  UserNotFound,
} from "../lib/registry/mod.ts";
import type { AppEnv } from "./context.ts";
import { serverAuth } from "./middleware/auth.ts";
import { NoBody, NoQuery, validate } from "./middleware/validate.ts";

/** `GET /installations/:id[/diagnosis]`; mount at `/v1/apps/:appId`. */
export function installationRoutes(
  deps: { apps: Apps; registry: Registry; diagnosis: DiagnosisService },
) {
  const { registry } = deps;
  return new Hono<AppEnv>()
    .get(
      "/installations/:id/diagnosis",
      serverAuth(deps.apps),
      validate("param", ServerInstallationParam),
      validate("query", DiagnosisQuery),
      async (c) => {
        const { id } = c.req.valid("param");
        return c.json(
          await deps.diagnosis.installation(c.var.app.appId, id, c.req.valid("query")),
        );
      },
    )
    .get(
      "/installations/:id",
      serverAuth(deps.apps),
      validate("param", ServerInstallationParam),
      validate("query", NoQuery),
      async (c) => {
        const inst = await registry.get(c.var.app.appId, c.req.valid("param").id);
        if (!inst) throw new InstallationNotFound();
        return c.json(installationView(inst), 200);
      },
    );
}

/** `GET/DELETE /users/:userId`; mount at `/v1/apps/:appId`. */
export function userRoutes(deps: { apps: Apps; registry: Registry }) {
  const { registry } = deps;
  const auth = serverAuth(deps.apps);
  return new Hono<AppEnv>()
    .get(
      "/users/:userId",
      auth,
      validate("param", ServerUserParam),
      validate("query", NoQuery),
      async (c) => {
        const { userId } = c.req.valid("param");
        const installations = await registry.userInstallations(c.var.app.appId, userId);
        if (installations.length === 0) throw new UserNotFound();
        return c.json({ userId, installations: installations.map(installationView) }, 200);
      },
    )
    .delete(
      "/users/:userId",
      auth,
      validate("param", ServerUserParam),
      validate("json", NoBody),
      async (c) => {
        await registry.eraseUser(c.var.app.appId, c.req.valid("param").userId);
        return c.body(null, 204);
      },
    );
}
