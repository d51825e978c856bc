/**
 * `/v1/sdk`: the mobile SDK's installation and event endpoints. `X-App-Key` on every call;
 * calls that change an existing installation also need `Authorization: Bearer <secret>`.
 *
 * Answers: register → 201 `{installationId, installationSecret, reason?}` (new) or 200
 * `{installationId, status}` (refresh); PATCH, DELETE and PUT/DELETE `…/user` → 200 with the
 * installation view; events → 202 `{accepted, duplicates, rejected}`.
 *
 * @module
 */
import { Hono } from "hono";
import type { Apps } from "../lib/apps/mod.ts";
import type { Events } from "../lib/sends/mod.ts";
import {
  type AttributeChanges,
  BindUserBody,
  EventsBody,
  InstallationParam,
  installationView,
  RegisterBody,
  type Registry,
  UpdateBody,
  verifyUserIdentity,
} from "../lib/registry/mod.ts";
import type { AppEnv } from "./context.ts";
import { bearer, sdkAuth } from "./middleware/auth.ts";
import { identifyClient } from "./middleware/rate_limit.ts";
import { NoBody, validate } from "./middleware/validate.ts";

/** What {@linkcode sdkRoutes} needs. */
export interface SdkRouteDeps {
  apps: Apps;
  registry: Registry;
  events: Events;
  /** Proxies in front of edgepush whose `X-Forwarded-For` entries are believed. Default 0. */
  trustedProxyHops?: number;
}

/**
 * SDK routes; mounted at `/v1/sdk`. The rate limit is taken inside the registry's and the
 * events' scripts (one round trip per call), for the client named by `identifyClient`.
 */
export function sdkRoutes(deps: SdkRouteDeps) {
  const { apps, registry, events } = deps;
  const auth = sdkAuth(apps);
  const limited = identifyClient(deps.trustedProxyHops);
  return new Hono<AppEnv>()
    .post("/installations", auth, limited, validate("json", RegisterBody), async (c) => {
      const body = c.req.valid("json");
      if (body.userId !== undefined) {
        await verifyUserIdentity(apps, c.var.app, {
          userId: body.userId,
          userSignature: body.userSignature,
        });
      }
      const result = await registry.register(c.var.app.appId, {
        installationId: body.installationId,
        secret: bearer(c.req.header("authorization")),
        token: body.token,
        environment: body.environment,
        userId: body.userId,
        pushAuthorization: body.pushAuthorization,
        attributes: body.attributes as Record<string, string | number | boolean> | undefined,
        client: c.var.client,
      });
      if (result.created) {
        return c.json({
          installationId: result.installationId,
          installationSecret: result.installationSecret,
          ...(result.reason ? { reason: result.reason } : {}),
        }, 201);
      }
      return c.json({ installationId: result.installationId, status: result.status }, 200);
    })
    .patch(
      "/installations/:id",
      auth,
      limited,
      validate("param", InstallationParam),
      validate("json", UpdateBody),
      async (c) => {
        const { userSignature, ...patch } = c.req.valid("json");
        if (patch.userId !== undefined) {
          await verifyUserIdentity(apps, c.var.app, { userId: patch.userId, userSignature });
        }
        const inst = await registry.update(c.var.app.appId, c.req.valid("param").id, {
          ...patch,
          attributes: patch.attributes as AttributeChanges | undefined,
          secret: bearer(c.req.header("authorization")),
          client: c.var.client,
        });
        return c.json(installationView(inst), 200);
      },
    )
    .delete(
      "/installations/:id",
      auth,
      limited,
      validate("param", InstallationParam),
      validate("json", NoBody),
      async (c) => {
        const inst = await registry.remove(c.var.app.appId, c.req.valid("param").id, {
          secret: bearer(c.req.header("authorization")),
          client: c.var.client,
        });
        return c.json(installationView(inst), 200);
      },
    )
    .put(
      "/installations/:id/user",
      auth,
      limited,
      validate("param", InstallationParam),
      validate("json", BindUserBody),
      async (c) => {
        const body = c.req.valid("json");
        await verifyUserIdentity(apps, c.var.app, body);
        const inst = await registry.bindUser(c.var.app.appId, c.req.valid("param").id, {
          secret: bearer(c.req.header("authorization")),
          client: c.var.client,
          userId: body.userId,
        });
        return c.json(installationView(inst), 200);
      },
    )
    .delete(
      "/installations/:id/user",
      auth,
      limited,
      validate("param", InstallationParam),
      validate("json", NoBody),
      async (c) => {
        const inst = await registry.unbindUser(c.var.app.appId, c.req.valid("param").id, {
          secret: bearer(c.req.header("authorization")),
          client: c.var.client,
        });
        return c.json(installationView(inst), 200);
      },
    )
    .post("/events", auth, limited, validate("json", EventsBody), async (c) => {
      const result = await events.record(c.var.app.appId, c.req.valid("json").events, {
        client: c.var.client,
      });
      return c.json(result, 202);
    });
}
