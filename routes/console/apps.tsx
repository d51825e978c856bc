/**
 * Apps: the list with credential health at a glance, and creating an app (admin) with its
 * secrets shown once.
 *
 * @module
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { CreateAppBody } from "../../lib/apps/mod.ts";
import { ValidationFailed } from "../../lib/errors.ts";
import { issues } from "../middleware/validate.ts";
import { Csrf, Field, type FieldErrors, FormError, Notice, toFieldErrors } from "./components.tsx";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";
import {
  appFieldFor,
  CertificateFields,
  credentialsOf,
  health,
  KeyFields,
  readForm,
  requireAdmin,
  type Values,
} from "./credentials.tsx";
import { Layout } from "./layout.tsx";
import { count } from "./words.ts";

function CreateAppForm(props: { c: Context<ConsoleEnv>; errors?: FieldErrors; values?: Values }) {
  const v = props.values ?? {};
  const errors = props.errors;
  return (
    <Layout title="Create an app" session={props.c.var.session}>
      <form class="card" method="post" action="/console/apps" enctype="multipart/form-data">
        <Csrf session={props.c.var.session} />
        <FormError errors={errors} />
        <Field name="name" label="Name" required value={v.name} errors={errors} />
        <Field
          name="bundleId"
          label="Bundle id"
          hint="The APNs topic, e.g. com.example.app"
          required
          value={v.bundleId}
          errors={errors}
        />
        <Field
          name="urlScheme"
          label="URL scheme (optional)"
          hint="Needed for test devices: the QR code opens <scheme>://edgepush/test-session"
          value={v.urlScheme}
          errors={errors}
        />
        <p>
          Give the app an APNs credential: a token key (.p8), a certificate (.p12), or both (the key
          is used when both are present).
        </p>
        <KeyFields values={v} errors={errors} />
        <CertificateFields errors={errors} />
        <label class="choice">
          <input type="checkbox" name="requireUserSignature" value="1" />
          Require a signature (HMAC) on user ids sent by the SDK
        </label>
        <button type="submit">Create app</button>
      </form>
    </Layout>
  );
}

/** App pages; mounted at the console's root (`/` is the list once signed in). */
export function appPages(deps: ConsoleDeps) {
  const { apps, registry } = deps;

  return new Hono<ConsoleEnv>()
    .get("/", async (c) => {
      const session = c.var.session!;
      // A server-key session sees the one app its key opens.
      const list = session.scope === "admin"
        ? await apps.list()
        : [apps.view(await apps.get(session.appId))];
      const summaries = await Promise.all(list.map((a) => registry.summary(a.appId, 0)));
      return c.html(
        <Layout title="Apps" session={session}>
          {session.scope === "admin" && (
            <p>
              <a class="button" href="/console/apps/new">Create an app</a>
            </p>
          )}
          {list.length === 0 ? <p>No apps yet: create the first one.</p> : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">App</th>
                    <th scope="col">Bundle id</th>
                    <th scope="col">Credentials</th>
                    <th scope="col">Reachable (prod / dev)</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((view, i) => {
                    const state = health(view);
                    return (
                      <tr>
                        <td>
                          <a href={`/console/apps/${view.appId}`}>{view.name}</a>
                        </td>
                        <td>
                          <code>{view.bundleId}</code>
                        </td>
                        <td>
                          {[view.apns && ".p8 key", view.certificate && ".p12 certificate"]
                            .filter(Boolean).join(" + ")}{" "}
                          <span class={`pill ${state.tone}`}>{state.text}</span>
                        </td>
                        <td>
                          {count(summaries[i].reachable.production)} /{" "}
                          {count(summaries[i].reachable.development)}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </Layout>,
      );
    })
    .get("/apps/new", (c) => {
      requireAdmin(c);
      return c.html(<CreateAppForm c={c} />);
    })
    .post("/apps", async (c) => {
      requireAdmin(c);
      const form = await readForm(c);
      const { values } = form;
      const input = {
        name: values.name,
        bundleId: values.bundleId,
        ...(values.urlScheme ? { urlScheme: values.urlScheme } : {}),
        ...(values.requireUserSignature ? { requireUserSignature: true } : {}),
        ...credentialsOf(form),
      };
      const parsed = CreateAppBody.safeParse(input);
      let errors: FieldErrors | null = null;
      let created;
      if (!parsed.success) {
        errors = toFieldErrors(new ValidationFailed("invalid", issues(parsed.error)), appFieldFor);
      } else if (Object.keys(form.fileErrors).length === 0) {
        try {
          created = await apps.create(parsed.data);
        } catch (error) {
          errors = toFieldErrors(error, appFieldFor);
        }
      }
      if (Object.keys(form.fileErrors).length) errors = { ...errors, ...form.fileErrors };
      else if (errors?.keyFile && !form.privateKey && input.apns) {
        errors.keyFile = "Choose the .p8 key file.";
      }
      if (errors || !created) {
        return c.html(<CreateAppForm c={c} errors={errors ?? {}} values={values} />, 400);
      }
      return c.html(
        <Layout title="App created" session={c.var.session}>
          <Notice kind="warn">
            Copy these secrets now: they are shown once and never again.
          </Notice>
          <section class="card">
            <h2>Server key (for your backend and this console)</h2>
            <code class="secret" data-secret="serverKey">{created.serverKey}</code>
            <h2>App key (public, for the SDK)</h2>
            <code class="secret" data-secret="appKey">{created.appKey}</code>
            {created.userSigningSecret && (
              <>
                <h2>User-signing secret</h2>
                <code class="secret">{created.userSigningSecret}</code>
              </>
            )}
          </section>
          <p>
            <a class="button" href={`/console/apps/${created.appId}`}>Go to the app</a>
          </p>
        </Layout>,
        201,
      );
    });
}
