/**
 * Apps: the list with credential health at a glance (admin), creating an app (admin), and an
 * app's overview with its credentials, installations by environment and status, key upload and
 * server-key rotation (admin).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Context } from "hono";
import { Hono } from "hono";
import type { AppViewData } from "../../lib/apps/mod.ts";
import { CreateAppBody, UpdateAppBody } from "../../lib/apps/mod.ts";
import { Forbidden, ValidationFailed } from "../../lib/errors.ts";
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
  When,
} from "./components.tsx";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";
import { Layout } from "./layout.tsx";
import { count } from "./words.ts";

/** A .p8 key file is a few hundred bytes; anything much larger is not one. */
const KEY_FILE_MAX = 8 * 1024;

/** Health of an app's credentials in one line and a tone. */
function health(view: AppViewData): { tone: "ok" | "bad" | "warn"; text: string } {
  if (view.credentialError) {
    return { tone: "bad", text: `APNs refused the credential (${view.credentialError.reason})` };
  }
  const warning = view.warnings[0];
  if (warning) {
    const expired = warning.code === "certificate_expired";
    return {
      tone: expired && !view.apns ? "bad" : "warn",
      text: expired
        ? "Certificate expired"
        : `Certificate expires in ${view.certificate?.daysLeft} days`,
    };
  }
  return { tone: "ok", text: "Healthy" };
}

/** The environments an app can push to: both with a key, the certificate's without. */
function environmentsCovered(view: AppViewData): string {
  if (view.apns) return "production and development";
  const envs = view.certificate?.environments ?? [];
  return envs.length ? envs.join(" and ") : "none";
}

/** The credential card of an app. */
function CredentialHealth(props: { view: AppViewData; now: number }) {
  const { view, now } = props;
  const cert = view.certificate;
  const state = health(view);
  return (
    <section class="card" aria-labelledby="cred-h">
      <h2 id="cred-h">Credentials</h2>
      <p>
        <span class={`pill ${state.tone}`}>{state.text}</span> Pushes reach{" "}
        {environmentsCovered(view)}.
      </p>
      {view.warnings.map((w) => (
        <Notice kind={w.code === "certificate_expired" ? "bad" : "warn"}>{w.message}</Notice>
      ))}
      <div class="table-wrap">
        <table>
          <tbody>
            <tr>
              <th scope="row">Key (.p8, token auth)</th>
              <td>
                {view.apns
                  ? (
                    <>
                      Team <code>{view.apns.teamId}</code>, key id <code>{view.apns.keyId}</code>
                      <br />Covers production and development{cert ? "; used when both exist" : ""}.
                    </>
                  )
                  : "None"}
              </td>
            </tr>
            <tr>
              <th scope="row">Certificate (.p12)</th>
              <td>
                {cert
                  ? (
                    <>
                      <span>{cert.subject}</span>
                      <br />Environments: {cert.environments.join(", ") || "none"}
                      <br />Topics: {cert.topics.join(", ") || "none"}
                      <br />Expires <When iso={cert.expiresAt} now={now} />
                      <span class={cert.daysLeft < 0 ? "bad" : cert.daysLeft <= 30 ? "warn" : ""}>
                        {` (${cert.daysLeft < 0 ? "expired" : `${cert.daysLeft} days left`})`}
                      </span>
                      <br />
                      <span class="hint">
                        SHA-256 <code>{cert.fingerprint}</code>
                      </span>
                    </>
                  )
                  : "None"}
              </td>
            </tr>
            <tr>
              <th scope="row">Last credential error</th>
              <td>
                {view.credentialError
                  ? (
                    <span class="bad">
                      {view.credentialError.reason}: {view.credentialError.message} (
                      <When iso={view.credentialError.at} now={now} />)
                    </span>
                  )
                  : "None reported by APNs"}
              </td>
            </tr>
          </tbody>
        </table>
      </div>
    </section>
  );
}

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

/** The token key's fields: team id, key id and the .p8 file. */
function KeyFields(props: { values?: Values; errors?: FieldErrors; required?: boolean }) {
  const { values: v = {}, errors, required } = props;
  return (
    <fieldset>
      <legend>Token key (.p8)</legend>
      <Field
        name="teamId"
        label="Team id"
        hint="10 characters, from the Apple Developer account"
        required={required}
        value={v.teamId}
        errors={errors}
      />
      <Field name="keyId" label="Key id" required={required} value={v.keyId} errors={errors} />
      <Field
        name="keyFile"
        label="Key file (.p8)"
        type="file"
        accept=".p8,.pem,.txt"
        required={required}
        errors={errors}
      />
    </fieldset>
  );
}

/** The certificate's fields: the .p12 file and its password. */
function CertificateFields(props: { errors?: FieldErrors; required?: boolean }) {
  return (
    <fieldset>
      <legend>Certificate (.p12)</legend>
      <Field
        name="p12File"
        label="Certificate file (.p12)"
        hint="As Keychain Access exports it: the APNs certificate with its private key"
        type="file"
        accept=".p12,.pfx"
        required={props.required}
        errors={props.errors}
      />
      <Field
        name="p12Password"
        label="Certificate password"
        hint="The password chosen at export; leave empty if there was none"
        type="password"
        autocomplete="off"
        errors={props.errors}
      />
    </fieldset>
  );
}

type Values = Record<string, string | undefined>;

/** A .p12 is a few kilobytes; the API takes its base64 up to 64 KiB. */
const P12_FILE_MAX = 48 * 1024;

/**
 * Reads a multipart form: string fields, the .p8 key's text and the .p12's base64, with an
 * error for a file too large to be what it claims.
 */
async function readForm(c: Context<ConsoleEnv>) {
  const form = await c.req.parseBody();
  const values: Values = {};
  for (const [key, value] of Object.entries(form)) {
    if (typeof value === "string") values[key] = value.trim();
  }
  const fileErrors: FieldErrors = {};
  let privateKey: string | undefined;
  let p12: string | undefined;
  const keyFile = form.keyFile;
  if (keyFile instanceof File && keyFile.size > 0) {
    if (keyFile.size > KEY_FILE_MAX) fileErrors.keyFile = "This file is too large to be a .p8 key.";
    else privateKey = await keyFile.text();
  }
  const p12File = form.p12File;
  if (p12File instanceof File && p12File.size > 0) {
    if (p12File.size > P12_FILE_MAX) {
      fileErrors.p12File = "This file is too large to be a .p12 certificate.";
    } else p12 = Buffer.from(await p12File.arrayBuffer()).toString("base64");
  }
  return { values, privateKey, p12, fileErrors };
}

/** The credentials a form gives: the key when any of its fields is filled, the certificate. */
function credentialsOf(form: Awaited<ReturnType<typeof readForm>>) {
  const { values, privateKey, p12 } = form;
  const wantsKey = !!(values.teamId || values.keyId || privateKey);
  return {
    ...(wantsKey
      ? { apns: { teamId: values.teamId, keyId: values.keyId, privateKey: privateKey ?? "" } }
      : {}),
    ...(p12 ? { certificate: { p12, password: values.p12Password ?? "" } } : {}),
  };
}

function appFieldFor(path: string): string | null {
  if (path === "apns.privateKey" || path === "apns") return "keyFile";
  if (path.startsWith("apns.")) return path.slice(5) || null;
  if (path === "certificate.password") return "p12Password";
  if (path.startsWith("certificate")) return "p12File";
  return path.split(".")[0] || null;
}

function requireAdmin(c: Context<ConsoleEnv>) {
  if (c.var.session?.scope !== "admin") {
    throw new Forbidden("only the admin can do this: sign in with the admin token");
  }
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

/** An app's overview page and its admin forms; mounted at `/apps/:appId`. */
export function appOverviewPages(deps: ConsoleDeps) {
  const { apps, registry } = deps;
  const now = () => (deps.options.now ?? Date.now)();

  async function overview(
    c: Context<ConsoleEnv>,
    extra: {
      errors?: FieldErrors;
      /** The form the errors are about. */
      form?: "key" | "certificate" | "remove" | "server-key";
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
          <>
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
                Issuing a new server key stops the current one at once: backends and console
                sessions using it must switch to the new one.
              </p>
              <label class="choice">
                <input type="checkbox" name="confirm" value="yes" required />
                Yes, stop the current server key
              </label>
              <button type="submit" class="danger">Issue new server key</button>
            </form>
          </>
        )}
      </Layout>,
      status,
    );
  }

  /** PATCHes the app's credentials as the API would, answering with the overview. */
  async function update(
    c: Context<ConsoleEnv>,
    patch: Record<string, unknown>,
    form: "key" | "certificate" | "remove",
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
    return await overview(c, { notice: `${done}; the next pushes use it.` });
  }

  return new Hono<ConsoleEnv>()
    .get("/", (c) => overview(c))
    .post("/credentials", async (c) => {
      requireAdmin(c);
      const form = await readForm(c);
      const errors: FieldErrors = { ...form.fileErrors };
      if (!form.privateKey && !errors.keyFile) errors.keyFile = "Choose the .p8 key file.";
      if (Object.keys(errors).length) return await overview(c, { errors, form: "key" }, 400);
      return await update(c, { apns: credentialsOf(form).apns }, "key", "The new key is stored");
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
        "The certificate is stored",
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
      return await update(c, { [which]: null }, "remove", "The credential is removed");
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
