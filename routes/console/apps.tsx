/**
 * Apps: the list with credential health at a glance (admin), creating an app (admin), and an
 * app's overview with its credentials, installations by environment and status, key upload and
 * server-key rotation (admin).
 *
 * @module
 */
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
  toFieldErrors,
  When,
} from "./components.tsx";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";
import { Layout } from "./layout.tsx";
import { count } from "./words.ts";

const DAY_MS = 86_400_000;
/** A .p8 key file is a few hundred bytes; anything much larger is not one. */
const KEY_FILE_MAX = 8 * 1024;

/** Health of an app's credentials in one line and a tone. */
function health(view: AppViewData, now: number): { tone: "ok" | "bad" | "warn"; text: string } {
  if (view.credentialError) {
    return { tone: "bad", text: `APNs refused the credential (${view.credentialError.reason})` };
  }
  const expiresAt = view.certificate?.expiresAt;
  if (expiresAt) {
    const days = Math.floor((Date.parse(expiresAt) - now) / DAY_MS);
    if (days < 0) return { tone: view.apns ? "warn" : "bad", text: "Certificate expired" };
    if (days <= 30) return { tone: "warn", text: `Certificate expires in ${days} days` };
  }
  return { tone: "ok", text: "Healthy" };
}

/** The credential card of an app. */
function CredentialHealth(props: { view: AppViewData; now: number }) {
  const { view, now } = props;
  const cert = view.certificate;
  const certDays = cert?.expiresAt ? Math.floor((Date.parse(cert.expiresAt) - now) / DAY_MS) : null;
  const state = health(view, now);
  return (
    <section class="card" aria-labelledby="cred-h">
      <h2 id="cred-h">Credentials</h2>
      <p>
        <span class={`pill ${state.tone}`}>{state.text}</span>
      </p>
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
                      <br />Covers production and development; used for every send.
                    </>
                  )
                  : "None"}
              </td>
            </tr>
            <tr>
              <th scope="row">Certificate</th>
              <td>
                {cert
                  ? (
                    <>
                      Expires <When iso={cert.expiresAt} now={now} />
                      {certDays !== null && (
                        <span class={certDays < 0 ? "bad" : certDays <= 30 ? "warn" : ""}>
                          {` (${certDays < 0 ? "expired" : `${certDays} days left`})`}
                        </span>
                      )}
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
        <fieldset>
          <legend>APNs key (.p8)</legend>
          <Field
            name="teamId"
            label="Team id"
            hint="10 characters, from the Apple Developer account"
            required
            value={v.teamId}
            errors={errors}
          />
          <Field name="keyId" label="Key id" required value={v.keyId} errors={errors} />
          <Field
            name="keyFile"
            label="Key file (.p8)"
            type="file"
            accept=".p8,.pem,.txt"
            required
            errors={errors}
          />
          {/* The .p12 certificate input goes here once certificate auth lands. */}
        </fieldset>
        <label class="choice">
          <input type="checkbox" name="requireUserSignature" value="1" />
          Require a signature (HMAC) on user ids sent by the SDK
        </label>
        <button type="submit">Create app</button>
      </form>
    </Layout>
  );
}

type Values = Record<string, string | undefined>;

/** Reads a multipart form: string fields and the uploaded key file's text. */
async function readForm(c: Context<ConsoleEnv>) {
  const form = await c.req.parseBody();
  const values: Values = {};
  for (const [key, value] of Object.entries(form)) {
    if (typeof value === "string") values[key] = value.trim();
  }
  const file = form.keyFile;
  let privateKey: string | undefined;
  let fileError: string | undefined;
  if (file instanceof File && file.size > 0) {
    if (file.size > KEY_FILE_MAX) fileError = "This file is too large to be a .p8 key.";
    else privateKey = await file.text();
  }
  return { values, privateKey, fileError };
}

function appFieldFor(path: string): string | null {
  if (path === "apns.privateKey") return "keyFile";
  if (path.startsWith("apns.")) return path.slice(5) || null;
  if (path === "apns") return "keyFile";
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
  const now = () => (deps.options.now ?? Date.now)();

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
                    const state = health(view, now());
                    return (
                      <tr>
                        <td>
                          <a href={`/console/apps/${view.appId}`}>{view.name}</a>
                        </td>
                        <td>
                          <code>{view.bundleId}</code>
                        </td>
                        <td>
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
      const { values, privateKey, fileError } = await readForm(c);
      const input = {
        name: values.name,
        bundleId: values.bundleId,
        ...(values.urlScheme ? { urlScheme: values.urlScheme } : {}),
        ...(values.requireUserSignature ? { requireUserSignature: true } : {}),
        apns: { teamId: values.teamId, keyId: values.keyId, privateKey: privateKey ?? "" },
      };
      const parsed = CreateAppBody.safeParse(input);
      let errors: FieldErrors | null = null;
      let created;
      if (!parsed.success) {
        errors = toFieldErrors(new ValidationFailed("invalid", issues(parsed.error)), appFieldFor);
      } else {
        try {
          created = await apps.create(parsed.data);
        } catch (error) {
          errors = toFieldErrors(error, appFieldFor);
        }
      }
      if (fileError) errors = { ...errors, keyFile: fileError };
      else if (!privateKey && errors) errors.keyFile = "Choose the .p8 key file.";
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
    extra: { errors?: FieldErrors; notice?: string; newServerKey?: string } = {},
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
              <h2>Upload or rotate the .p8 key</h2>
              <Csrf session={session} />
              <FormError errors={extra.errors} />
              <Field
                name="teamId"
                label="Team id"
                value={view.apns?.teamId}
                required
                errors={extra.errors}
              />
              <Field
                name="keyId"
                label="Key id"
                value={view.apns?.keyId}
                required
                errors={extra.errors}
              />
              <Field
                name="keyFile"
                label="Key file (.p8)"
                type="file"
                accept=".p8,.pem,.txt"
                required
                errors={extra.errors}
              />
              {/* The .p12 certificate upload goes here once certificate auth lands. */}
              <button type="submit">Upload key</button>
            </form>
            <form class="card" method="post" action={`${base}/server-key`}>
              <h2>Server key</h2>
              <Csrf session={session} />
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

  return new Hono<ConsoleEnv>()
    .get("/", (c) => overview(c))
    .post("/credentials", async (c) => {
      requireAdmin(c);
      const { values, privateKey, fileError } = await readForm(c);
      if (fileError || !privateKey) {
        return await overview(c, {
          errors: { keyFile: fileError ?? "Choose the .p8 key file." },
        }, 400);
      }
      const parsed = UpdateAppBody.safeParse({
        apns: { teamId: values.teamId, keyId: values.keyId, privateKey },
      });
      try {
        if (!parsed.success) throw new ValidationFailed("invalid", issues(parsed.error));
        await apps.update(c.var.consoleApp.appId, parsed.data);
      } catch (error) {
        return await overview(c, { errors: toFieldErrors(error, appFieldFor) }, 400);
      }
      c.set("consoleApp", await apps.get(c.var.consoleApp.appId));
      return await overview(c, { notice: "The new key is stored; the next pushes use it." });
    })
    .post("/server-key", async (c) => {
      requireAdmin(c);
      if ((await c.req.parseBody()).confirm !== "yes") {
        return await overview(c, {
          errors: { _form: "Tick the box to confirm: the current server key stops at once." },
        }, 400);
      }
      const serverKey = await apps.rotateServerKey(c.var.consoleApp.appId);
      c.set("consoleApp", await apps.get(c.var.consoleApp.appId));
      return await overview(c, { newServerKey: serverKey });
    });
}
