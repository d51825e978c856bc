/**
 * An app's APNs credentials in the console: their health at a glance, the card that details
 * them, the .p8 and .p12 form fields, and reading an uploaded form into the API's input.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Context } from "hono";
import type { AppViewData } from "../../lib/apps/mod.ts";
import { Forbidden } from "../../lib/errors.ts";
import { Field, type FieldErrors, Notice, When } from "./components.tsx";
import type { ConsoleEnv } from "./context.ts";

/** A .p8 key file is a few hundred bytes; anything much larger is not one. */
const KEY_FILE_MAX = 8 * 1024;

/** Health of an app's credentials in one line and a tone. */
export function health(view: AppViewData): { tone: "ok" | "bad" | "warn"; text: string } {
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
export function environmentsCovered(view: AppViewData): string {
  if (view.apns) return "production and development";
  const envs = view.certificate?.environments ?? [];
  return envs.length ? envs.join(" and ") : "none";
}

/** The credential card of an app. */
export function CredentialHealth(props: { view: AppViewData; now: number }) {
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

/** The token key's fields: team id, key id and the .p8 file. */
export function KeyFields(props: { values?: Values; errors?: FieldErrors; required?: boolean }) {
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
export function CertificateFields(props: { errors?: FieldErrors; required?: boolean }) {
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

/** Form values as submitted. */
export type Values = Record<string, string | undefined>;

/** A .p12 is a few kilobytes; the API takes its base64 up to 64 KiB. */
const P12_FILE_MAX = 48 * 1024;

/**
 * Reads a multipart form: string fields, the .p8 key's text and the .p12's base64, with an
 * error for a file too large to be what it claims.
 */
export async function readForm(c: Context<ConsoleEnv>) {
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
export function credentialsOf(form: Awaited<ReturnType<typeof readForm>>) {
  const { values, privateKey, p12 } = form;
  const wantsKey = !!(values.teamId || values.keyId || privateKey);
  return {
    ...(wantsKey
      ? { apns: { teamId: values.teamId, keyId: values.keyId, privateKey: privateKey ?? "" } }
      : {}),
    ...(p12 ? { certificate: { p12, password: values.p12Password ?? "" } } : {}),
  };
}

export function appFieldFor(path: string): string | null {
  if (path === "apns.privateKey" || path === "apns") return "keyFile";
  if (path.startsWith("apns.")) return path.slice(5) || null;
  if (path === "certificate.password") return "p12Password";
  if (path.startsWith("certificate")) return "p12File";
  return path.split(".")[0] || null;
}

/** Refuses (403) a server-key session: credentials and keys are the admin's. */
export function requireAdmin(c: Context<ConsoleEnv>) {
  if (c.var.session?.scope !== "admin") {
    throw new Forbidden("only the admin can do this: sign in with the admin token");
  }
}
