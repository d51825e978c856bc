/**
 * Test devices: start a test session (a large QR code and its deep link), watch bound devices
 * appear without reloading (the list polls a fragment), and push a preview to them with each
 * device's APNs answer in plain words.
 *
 * @module
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { ValidationFailed } from "../../lib/errors.ts";
import {
  deepLinkFor,
  normalizeCode,
  type PreviewResultData,
  PreviewSendBody,
  renderQrSvg,
  TestSessionCode,
  TestSessionExpired,
  TestSessionNotFound,
  type TestSessionViewData,
} from "../../lib/test_sessions/mod.ts";
import { Csrf, type FieldErrors, FormError, Notice, toFieldErrors, When } from "./components.tsx";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";
import { issues } from "../middleware/validate.ts";
import { Layout } from "./layout.tsx";
import {
  type FormValues,
  formValues,
  notificationFieldFor,
  NotificationFields,
  readNotification,
} from "./notification_form.tsx";
import { describeResult } from "./words.ts";

/** What an empty preview form sends. */
const DEFAULT_PREVIEW = { title: "Test notification", body: "Sent from the edgepush console." };

/** The bound devices table (also the polled fragment). */
function DeviceList(props: { view: TestSessionViewData | null; now: number }) {
  const { view } = props;
  if (!view) return <p>This test session has expired: start a new one.</p>;
  if (view.devices.length === 0) {
    return (
      <p>
        No device yet. Scan the code with a test phone that runs the app; it appears here at once.
      </p>
    );
  }
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">iOS</th>
            <th scope="col">Environment</th>
            <th scope="col">Installation</th>
          </tr>
        </thead>
        <tbody>
          {view.devices.map((d) => (
            <tr data-device={d.installationId}>
              <td>{d.deviceModel ?? "Unknown model"}</td>
              <td>{d.osVersion ?? "—"}</td>
              <td>{d.environment}</td>
              <td>
                <code>{d.installationId}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Results(props: { results: PreviewResultData[]; view: TestSessionViewData | null }) {
  const model = (id: string) =>
    props.view?.devices.find((d) => d.installationId === id)?.deviceModel ?? id;
  if (props.results.length === 0) {
    return <Notice kind="warn">No device is bound yet, so nothing was sent.</Notice>;
  }
  return (
    <section class="card" aria-labelledby="results-h" aria-live="polite">
      <h2 id="results-h">APNs answers</h2>
      <ul class="checks">
        {props.results.map((r) => (
          <li data-result={r.status}>
            <span class={`mark ${r.status === "accepted" ? "ok" : "bad"}`}>
              {r.status === "accepted" ? "✓" : "✗"}
            </span>
            <strong>{model(r.installationId)}</strong>: {describeResult(r)}
            {r.reason && <span class="hint">APNs reason: {r.reason}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Test-device pages; mounted at `/apps/:appId/test-devices`. */
export function testDevicePages(deps: ConsoleDeps) {
  const { testSessions, registry } = deps;
  const now = () => (deps.options.now ?? Date.now)();

  function codeParam(c: Context<ConsoleEnv>): string {
    const parsed = TestSessionCode.safeParse(normalizeCode(c.req.param("code") ?? ""));
    if (!parsed.success) throw new ValidationFailed("not a test session code");
    return parsed.data;
  }

  async function describe(appId: string, code: string): Promise<TestSessionViewData | null> {
    try {
      return await testSessions.describe(appId, code, registry.get);
    } catch (error) {
      if (error instanceof TestSessionExpired || error instanceof TestSessionNotFound) return null;
      throw error;
    }
  }

  async function sessionPage(
    c: Context<ConsoleEnv>,
    code: string,
    extra: { results?: PreviewResultData[]; errors?: FieldErrors; values?: FormValues } = {},
    status: 200 | 400 = 200,
  ) {
    const record = c.var.consoleApp;
    const base = `/console/apps/${record.appId}/test-devices`;
    const view = await describe(record.appId, code);
    const deepLink = record.urlScheme ? deepLinkFor(record.urlScheme, code) : null;
    // The SVG comes from the QR library (never user text), shown as an image, not as markup.
    const qr = deepLink ? await renderQrSvg(deepLink) : null;
    return c.html(
      <Layout title="Test devices" session={c.var.session} app={record} place="test-devices">
        <div class="grid two">
          <section class="card qr" aria-labelledby="qr-h">
            <h2 id="qr-h">Scan with a test phone</h2>
            {qr && (
              <img
                src={`data:image/svg+xml;base64,${btoa(qr)}`}
                alt={`QR code of the deep link ${deepLink}`}
                width="320"
                height="320"
              />
            )}
            <p>
              Or open this link on the phone: <code>{deepLink}</code>
            </p>
            <p>
              Code <code>{code}</code>
              {view && (
                <>
                  , expires <When iso={view.expiresAt} now={now()} />
                </>
              )}.
            </p>
            <form method="post" action={base}>
              <Csrf session={c.var.session} />
              <button type="submit" class="secondary">Start a new test session</button>
            </form>
          </section>
          <section class="card" aria-labelledby="dev-h">
            <h2 id="dev-h">Devices</h2>
            <div
              id="devices"
              aria-live="polite"
              data-poll={`${base}/${code}/devices`}
              data-interval="1500"
            >
              <DeviceList view={view} now={now()} />
            </div>
          </section>
        </div>
        {extra.results && <Results results={extra.results} view={view} />}
        <form class="card" method="post" action={`${base}/${code}/preview`}>
          <h2>Send a preview</h2>
          <p>
            Pushes now to every device above, each in its own environment. Left empty, it sends
            "{DEFAULT_PREVIEW.title}".
          </p>
          <Csrf session={c.var.session} />
          <FormError errors={extra.errors} />
          <NotificationFields values={extra.values} errors={extra.errors} />
          <button type="submit">Send preview</button>
        </form>
      </Layout>,
      status,
    );
  }

  return new Hono<ConsoleEnv>()
    .get("/", (c) => {
      const record = c.var.consoleApp;
      return c.html(
        <Layout title="Test devices" session={c.var.session} app={record} place="test-devices">
          <section class="card">
            <p>
              A test session shows a QR code. Scanning it with a phone that runs your app (with the
              edgepush SDK) binds that phone as a test device for 10 minutes, so you can push
              previews to it.
            </p>
            {!record.urlScheme && (
              <Notice kind="warn">
                This app has no URL scheme, so there is no link for the QR code: the admin sets one
                on the app.
              </Notice>
            )}
            <form method="post" action={`/console/apps/${record.appId}/test-devices`}>
              <Csrf session={c.var.session} />
              <button type="submit">Start test session</button>
            </form>
          </section>
        </Layout>,
      );
    })
    .post("/", async (c) => {
      const record = c.var.consoleApp;
      const created = await testSessions.create(record);
      return c.redirect(
        `/console/apps/${record.appId}/test-devices/${created.code}`,
        303,
      );
    })
    .get("/:code", async (c) => {
      return await sessionPage(c, codeParam(c));
    })
    .get("/:code/devices", async (c) => {
      const view = await describe(c.var.consoleApp.appId, codeParam(c));
      if (!view) c.header("x-poll-done", "1");
      return c.html(<DeviceList view={view} now={now()} />);
    })
    .post("/:code/preview", async (c) => {
      const code = codeParam(c);
      const values = formValues(await c.req.parseBody());
      let results: PreviewResultData[];
      try {
        // An empty form still sends something visible, so "does it arrive?" needs no typing.
        const notification = readNotification(values) ?? DEFAULT_PREVIEW;
        const parsed = PreviewSendBody.safeParse({ notification });
        if (!parsed.success) throw new ValidationFailed("invalid", issues(parsed.error));
        results = await testSessions.preview(
          c.var.consoleApp.appId,
          code,
          parsed.data,
          deps.sendPreview,
        );
      } catch (error) {
        if (error instanceof TestSessionExpired || error instanceof TestSessionNotFound) {
          throw error;
        }
        return await sessionPage(
          c,
          code,
          { errors: toFieldErrors(error, notificationFieldFor), values },
          400,
        );
      }
      return await sessionPage(c, code, { results, values });
    });
}
