/**
 * `GET /console` signed out, `POST /console/sign-in` and `POST /console/sign-out`.
 *
 * Sign-in takes the admin token (every app) or an app's server key (that app only), compared in
 * constant time; failures from one client are slowed (lib/console's throttle). A successful
 * sign-in replaces any session the browser had, so a planted cookie is never promoted.
 *
 * @module
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { safeEqual, sha256Hex } from "../../lib/auth/secrets.ts";
import type { ConsolePrincipal, ConsoleSessions, SignInThrottle } from "../../lib/console/mod.ts";
import { Unauthorized } from "../../lib/errors.ts";
import { clientAddress } from "../middleware/rate_limit.ts";
import { Field, type FieldErrors, FormError } from "./components.tsx";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";
import { Layout } from "./layout.tsx";
import { clearSessionCookie, setSessionCookie } from "./security.ts";

/** The sign-in page. */
export function SignInPage(props: { errors?: FieldErrors }) {
  return (
    <Layout title="Sign in" session={null}>
      <form class="card" method="post" action="/console/sign-in">
        <p>
          Sign in with the admin token to manage every app, or with an app's server key to work on
          that app.
        </p>
        <FormError errors={props.errors} />
        <Field
          name="token"
          label="Admin token or server key"
          type="password"
          autocomplete="off"
          required
          errors={props.errors}
        />
        <button type="submit">Sign in</button>
      </form>
    </Layout>
  );
}

/** Sign-in and sign-out routes; mounted at the console's root. */
export function signInRoutes(
  deps: ConsoleDeps,
  sessions: ConsoleSessions,
  throttle: SignInThrottle,
) {
  async function principalFor(token: string): Promise<ConsolePrincipal | null> {
    if (await safeEqual(token, deps.adminToken)) {
      return { scope: "admin", appId: null, credentialHash: await sha256Hex(deps.adminToken) };
    }
    if (!token.startsWith("sk_")) return null;
    try {
      const record = await deps.apps.authenticateServerKey(token);
      return { scope: "app", appId: record.appId, credentialHash: record.serverKeyHash };
    } catch (error) {
      if (error instanceof Unauthorized) return null;
      throw error;
    }
  }

  function refuse(c: Context<ConsoleEnv>, message: string, status: 401 | 429) {
    return c.html(<SignInPage errors={{ token: message }} />, status);
  }

  return new Hono<ConsoleEnv>()
    .post("/sign-in", async (c) => {
      const client = clientAddress(c, deps.trustedProxyHops ?? 0);
      const wait = await throttle.retryAfterSeconds(client);
      if (wait > 0) {
        c.header("Retry-After", String(wait));
        return refuse(
          c,
          `Too many failed sign-ins from this address: wait ${wait} seconds, then try again.`,
          429,
        );
      }
      const form = await c.req.parseBody();
      const token = typeof form.token === "string" ? form.token.trim() : "";
      const principal = token.length > 0 && token.length <= 512 ? await principalFor(token) : null;
      if (!principal) {
        await throttle.fail(client);
        return refuse(c, "That is neither the admin token nor a server key.", 401);
      }
      await throttle.succeed(client);
      if (c.var.sessionId) await sessions.destroy(c.var.sessionId);
      const { id } = await sessions.create(principal);
      setSessionCookie(c, id, sessions.idleMs);
      return c.redirect("/console", 303);
    })
    .post("/sign-out", async (c) => {
      if (c.var.sessionId) await sessions.destroy(c.var.sessionId);
      clearSessionCookie(c);
      return c.redirect("/console", 303);
    });
}
