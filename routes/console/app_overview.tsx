/**
 * An app's overview: its credentials in detail, installations by environment and status, and
 * the admin's forms to upload, rotate or remove credentials and to issue a new server key.
 *
 * @module
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { UpdateAppBody } from "../../lib/apps/mod.ts";
import { ValidationFailed } from "../../lib/errors.ts";
import type { InstallationSummary } from "../../lib/registry/mod.ts";
import { issues } from "../middleware/validate.ts";
import {
  Csrf,
  Field,
  type FieldErrors,
  FormError,
  Notice,
  Select,
  toFieldErrors,
} from "./components.tsx";
import type { AppViewData } from "../../lib/apps/mod.ts";
import type { ConsoleSession } from "../../lib/console/mod.ts";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";
import {
  appFieldFor,
  CertificateFields,
  CredentialHealth,
  credentialsOf,
  KeyFields,
  readForm,
  requireAdmin,
} from "./credentials.tsx";
import { Layout } from "./layout.tsx";
import { count } from "./words.ts";

const STATUS_ORDER = ["active", "denied", "stale", "unregistered", "bad_token", "replaced"];

/** Installations by environment and status. */
function Installations(props: { summary: InstallationSummary }) {
  const { summary } = props;
  const statuses = [
    ...STATUS_ORDER,
    ...Object.keys({ ...summary.byEnvironment.production, ...summary.byEnvironment.development })
      .filter((s) => !STATUS_ORDER.includes(s)),
  ];
  return (
    <section class="card" aria-labelledby="inst-h">
      <h2 id="inst-h">Installations</h2>
      <p>
        {count(summary.total)} installations; reachable now: {count(summary.reachable.production)}
        {" "}
        production, {count(summary.reachable.development)} development.
      </p>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Environment</th>
              {statuses.map((s) => <th scope="col">{s.replace("_", " ")}</th>)}
            </tr>
          </thead>
          <tbody>
            {(["production", "development"] as const).map((env) => (
              <tr>
                <th scope="row">{env}</th>
                {statuses.map((s) => <td>{count(summary.byEnvironment[env][s] ?? 0)}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {summary.sampled && (
        <p class="hint">Statuses counted over the 10,000 most recently seen installations.</p>
      )}
    </section>
  );
}

/** The forms the errors of an overview can be about. */
type OverviewForm = "settings" | "key" | "certificate" | "remove" | "server-key";

/** The admin's forms: upload or rotate the key and the certificate, remove one, new server key. */
function AdminForms(
  props: {
    view: AppViewData;
    session: ConsoleSession;
    base: string;
    errors?: FieldErrors;
    form?: OverviewForm;
  },
) {
  const { view, session, base } = props;
  const extra = { errors: props.errors, form: props.form };
  return (
    <>
      <form class="card" method="post" action={`${base}/settings`}>
        <h2>Settings</h2>
        <Csrf session={session} />
        {extra.form === "settings" && <FormError errors={extra.errors} />}
        <Field
          name="name"
          label="Name"
          required
          value={view.name}
          errors={extra.form === "settings" ? extra.errors : undefined}
        />
        <Field
          name="urlScheme"
          label="URL scheme"
          hint="Needed for test devices; leave empty to remove it"
          value={view.urlScheme}
          errors={extra.form === "settings" ? extra.errors : undefined}
        />
        <button type="submit">Save settings</button>
      </form>
      <form
        class="card"
        method="post"
        action={`${base}/credentials`}
        enctype="multipart/form-data"
      >
        <h2>{view.apns ? "Rotate the .p8 key" : "Add a .p8 key"}</h2>
        <Csrf session={session} />
        {extra.form === "key" && <FormError errors={extra.errors} />}
        <KeyFields
          values={view.apns ?? undefined}
          errors={extra.form === "key" ? extra.errors : undefined}
          required
        />
        <button type="submit">Upload key</button>
      </form>
      <form
        class="card"
        method="post"
        action={`${base}/certificate`}
        enctype="multipart/form-data"
      >
        <h2>{view.certificate ? "Renew the certificate" : "Add a certificate"}</h2>
        <Csrf session={session} />
        {extra.form === "certificate" && <FormError errors={extra.errors} />}
        <CertificateFields
          errors={extra.form === "certificate" ? extra.errors : undefined}
          required
        />
        <button type="submit">Upload certificate</button>
      </form>
      {view.apns && view.certificate && (
        <form class="card" method="post" action={`${base}/remove-credential`}>
          <h2>Remove a credential</h2>
          <Csrf session={session} />
          {extra.form === "remove" && <FormError errors={extra.errors} />}
          <p>The app keeps pushing with the other one.</p>
          <Select
            name="credential"
            label="Credential to remove"
            options={[
              { value: "certificate", label: "The certificate (.p12)" },
              { value: "apns", label: "The token key (.p8)" },
            ]}
          />
          <button type="submit" class="danger">Remove credential</button>
        </form>
      )}
      <form class="card" method="post" action={`${base}/server-key`}>
        <h2>Server key</h2>
        <Csrf session={session} />
        {extra.form === "server-key" && <FormError errors={extra.errors} />}
        <p>
          Issuing a new server key stops the current one at once: backends and console sessions
          using it must switch to the new one.
        </p>
        <label class="choice">
          <input type="checkbox" name="confirm" value="yes" required />
          Yes, stop the current server key
        </label>
        <button type="submit" class="danger">Issue new server key</button>
      </form>
    </>
  );
}

/** An app's overview page and its admin forms; mounted at `/apps/:appId`. */
export function appOverviewPages(deps: ConsoleDeps) {
  const { apps, registry } = deps;
  const now = () => (deps.options.now ?? Date.now)();

  async function overview(
    c: Context<ConsoleEnv>,
    extra: {
      errors?: FieldErrors;
      /** The form the errors are about. */
      form?: OverviewForm;
      notice?: string;
      newServerKey?: string;
    } = {},
    status: 200 | 400 = 200,
  ) {
    const record = c.var.consoleApp;
    const view = apps.view(record);
    const summary = await registry.summary(record.appId);
    const session = c.var.session!;
    const base = `/console/apps/${record.appId}`;
    return c.html(
      <Layout title={view.name} session={session} app={view} place="overview">
        {extra.notice && <Notice kind="ok">{extra.notice}</Notice>}
        {extra.newServerKey && (
          <Notice kind="warn">
            New server key, shown once (the old one stopped working):{" "}
            <code class="secret" data-secret="serverKey">{extra.newServerKey}</code>
          </Notice>
        )}
        <p>
          Bundle id <code>{view.bundleId}</code>
          {view.urlScheme
            ? (
              <>
                , URL scheme <code>{view.urlScheme}</code>
              </>
            )
            : ""}. App key <code>{view.appKey}</code>
        </p>
        <div class="grid two">
          <CredentialHealth view={view} now={now()} />
          <Installations summary={summary} />
        </div>
        {session.scope === "admin" && (
          <AdminForms
            view={view}
            session={session}
            base={base}
            errors={extra.errors}
            form={extra.form}
          />
        )}
      </Layout>,
      status,
    );
  }

  /** PATCHes the app's credentials as the API would, answering with the overview. */
  async function update(
    c: Context<ConsoleEnv>,
    patch: Record<string, unknown>,
    form: "settings" | "key" | "certificate" | "remove",
    done: string,
  ) {
    try {
      const parsed = UpdateAppBody.safeParse(patch);
      if (!parsed.success) throw new ValidationFailed("invalid", issues(parsed.error));
      await apps.update(c.var.consoleApp.appId, parsed.data);
    } catch (error) {
      return await overview(c, { errors: toFieldErrors(error, appFieldFor), form }, 400);
    }
    c.set("consoleApp", await apps.get(c.var.consoleApp.appId));
    return await overview(c, { notice: `${done}.` });
  }

  return new Hono<ConsoleEnv>()
    .get("/", (c) => overview(c))
    .post("/settings", async (c) => {
      requireAdmin(c);
      const form = await c.req.parseBody();
      const text = (key: string) => typeof form[key] === "string" ? String(form[key]).trim() : "";
      return await update(
        c,
        { name: text("name"), urlScheme: text("urlScheme") || null },
        "settings",
        "Settings saved",
      );
    })
    .post("/credentials", async (c) => {
      requireAdmin(c);
      const form = await readForm(c);
      const errors: FieldErrors = { ...form.fileErrors };
      if (!form.privateKey && !errors.keyFile) errors.keyFile = "Choose the .p8 key file.";
      if (Object.keys(errors).length) return await overview(c, { errors, form: "key" }, 400);
      return await update(
        c,
        { apns: credentialsOf(form).apns },
        "key",
        "The new key is stored; the next pushes use it",
      );
    })
    .post("/certificate", async (c) => {
      requireAdmin(c);
      const form = await readForm(c);
      const errors: FieldErrors = { ...form.fileErrors };
      if (!form.p12 && !errors.p12File) errors.p12File = "Choose the .p12 file.";
      if (Object.keys(errors).length) {
        return await overview(c, { errors, form: "certificate" }, 400);
      }
      return await update(
        c,
        { certificate: credentialsOf(form).certificate },
        "certificate",
        "The certificate is stored; the next pushes use it",
      );
    })
    .post("/remove-credential", async (c) => {
      requireAdmin(c);
      const which = (await c.req.parseBody()).credential;
      if (which !== "apns" && which !== "certificate") {
        return await overview(c, {
          errors: { _form: "Choose the credential to remove." },
          form: "remove",
        }, 400);
      }
      return await update(
        c,
        { [which]: null },
        "remove",
        "The credential is removed; the next pushes use the other one",
      );
    })
    .post("/server-key", async (c) => {
      requireAdmin(c);
      if ((await c.req.parseBody()).confirm !== "yes") {
        return await overview(c, {
          errors: { _form: "Tick the box to confirm: the current server key stops at once." },
          form: "server-key",
        }, 400);
      }
      const serverKey = await apps.rotateServerKey(c.var.consoleApp.appId);
      c.set("consoleApp", await apps.get(c.var.consoleApp.appId));
      return await overview(c, { newServerKey: serverKey });
    });
}
