/**
 * Sends: the composer's routes (compose, live check, review, create), the list, and a send's
 * page with the funnel chart, failures by reason in plain words, live progress and cancel.
 *
 * @module
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { FINAL_STATUSES, SendId, type SendViewData } from "../../lib/sends/mod.ts";
import { NotFound } from "../../lib/errors.ts";
import { Csrf, Notice, When } from "./components.tsx";
import { ComposePage, readSend, ReviewPage, sendErrors } from "./compose.tsx";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";
import { FunnelChart } from "./funnel.tsx";
import { Layout } from "./layout.tsx";
import { type FormValues, formValues } from "./notification_form.tsx";
import { count, explainReason, SEND_STATUS_WORDS } from "./words.ts";

function isFinal(send: SendViewData): boolean {
  return FINAL_STATUSES.includes(send.status);
}

/** The live part of a send's page (also the polled fragment). */
function Progress(props: { send: SendViewData; now: number }) {
  const { send } = props;
  const c = send.counts;
  const failures = Object.entries(send.failures).sort((a, b) => b[1] - a[1]);
  return (
    <>
      <p>
        <span class={`pill ${send.status === "completed" ? "ok" : isFinal(send) ? "bad" : ""}`}>
          {SEND_STATUS_WORDS[send.status] ?? send.status}
        </span>{" "}
        {send.status === "scheduled" && send.scheduleAt && (
          <>
            for <When iso={send.scheduleAt} now={props.now} />
          </>
        )}
        {send.error && <span class="bad">{send.error.message}</span>}
      </p>
      <FunnelChart counts={c} />
      <div class="table-wrap">
        <table data-counts>
          <tbody>
            {(["targeted", "attempted", "accepted", "failed", "invalidated", "skipped"] as const)
              .map((key) => (
                <tr>
                  <th scope="row">{key}</th>
                  <td data-count={key}>{count(c[key])}</td>
                </tr>
              ))}
            <tr>
              <th scope="row">delivered (SDK)</th>
              <td data-count="delivered">{count(c.delivered)}</td>
            </tr>
            <tr>
              <th scope="row">opened (SDK)</th>
              <td data-count="opened">{count(c.opened)}</td>
            </tr>
          </tbody>
        </table>
      </div>
      <h2>Failures by reason</h2>
      {failures.length === 0 ? <p>No failures.</p> : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Reason</th>
                <th scope="col">Recipients</th>
                <th scope="col">What it means</th>
              </tr>
            </thead>
            <tbody>
              {failures.map(([reason, n]) => (
                <tr data-reason={reason}>
                  <td>
                    <code>{reason}</code>
                  </td>
                  <td>{count(n)}</td>
                  <td>{explainReason(reason)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** Send pages; mounted at `/apps/:appId/sends`. */
export function sendPages(deps: ConsoleDeps) {
  const { sends, segments } = deps;
  const now = () => (deps.options.now ?? Date.now)();

  function sendIdParam(c: Context<ConsoleEnv>): string {
    const parsed = SendId.safeParse(c.req.param("sendId"));
    if (!parsed.success) throw new NotFound("send not found");
    return parsed.data;
  }

  async function compose(c: Context<ConsoleEnv>, values?: FormValues, errors?: object) {
    const list = await segments.list(c.var.consoleApp.appId);
    const view = deps.apps.view(c.var.consoleApp);
    const warnings = [
      ...(view.credentialError
        ? [
          `APNs refused this app's credential on ${view.credentialError.at} ` +
          `(${view.credentialError.reason}): pushes may fail until the admin uploads a new one.`,
        ]
        : []),
      ...view.warnings.map((w) => w.message),
    ];
    return c.html(
      <ComposePage
        c={c}
        app={c.var.consoleApp}
        segments={list}
        warnings={warnings}
        values={values}
        errors={errors as Record<string, string>}
      />,
      errors ? 400 : 200,
    );
  }

  async function sendPage(c: Context<ConsoleEnv>, notice?: string) {
    const app = c.var.consoleApp;
    const send = await sends.get(app.appId, sendIdParam(c));
    const base = `/console/apps/${app.appId}/sends/${send.sendId}`;
    return c.html(
      <Layout title={`Send ${send.sendId}`} session={c.var.session} app={app} place="sends">
        {notice && <Notice kind="ok">{notice}</Notice>}
        {send.warnings.map((w) => <Notice kind="warn">{w.message}</Notice>)}
        <p>
          Created <When iso={send.createdAt} now={now()} />
          {send.finishedAt && (
            <>
              , finished <When iso={send.finishedAt} now={now()} />
            </>
          )}.
        </p>
        <section
          class="card"
          aria-live="polite"
          data-poll={isFinal(send) ? undefined : `${base}/progress`}
          data-interval="1000"
          id="progress"
        >
          <Progress send={send} now={now()} />
        </section>
        {!isFinal(send) && (
          <form method="post" action={`${base}/cancel`}>
            <Csrf session={c.var.session} />
            <button type="submit" class="danger">Cancel send</button>
          </form>
        )}
      </Layout>,
    );
  }

  return new Hono<ConsoleEnv>()
    .get("/", async (c) => {
      const app = c.var.consoleApp;
      const list = await sends.list(app.appId, 50);
      return c.html(
        <Layout title="Sends" session={c.var.session} app={app} place="sends">
          {list.length === 0 ? <p>No sends yet.</p> : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Send</th>
                    <th scope="col">Status</th>
                    <th scope="col">Created</th>
                    <th scope="col">Targeted</th>
                    <th scope="col">Accepted</th>
                    <th scope="col">Opened</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((s) => (
                    <tr data-send={s.sendId}>
                      <td>
                        <a href={`/console/apps/${app.appId}/sends/${s.sendId}`}>{s.sendId}</a>
                      </td>
                      <td>{SEND_STATUS_WORDS[s.status] ?? s.status}</td>
                      <td>
                        <When iso={s.createdAt} now={now()} />
                      </td>
                      <td>{count(s.counts.targeted)}</td>
                      <td>{count(s.counts.accepted)}</td>
                      <td>{count(s.counts.opened)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Layout>,
      );
    })
    .get("/new", (c) => compose(c))
    .post("/new", async (c) => compose(c, formValues(await c.req.parseBody())))
    .post("/check", async (c) => {
      const app = c.var.consoleApp;
      const values = formValues(await c.req.parseBody());
      let size: { size: number; limit: number } | null = null;
      let error: string | null = null;
      let reachText = "";
      try {
        const input = readSend(values);
        size = sends.measure(app, input);
        const reach = await sends.reach(app.appId, input.audience, input.environment);
        reachText = `Reaches ${count(reach)} ${reach === 1 ? "device" : "devices"} now.`;
      } catch (e) {
        const errors = sendErrors(e);
        error = Object.values(errors)[0] ?? null;
        const detail = (e as { details?: Array<{ size?: number; limit?: number }> }).details
          ?.find((d) => typeof d?.size === "number");
        if (detail) size = { size: detail.size!, limit: detail.limit! };
      }
      return c.json({
        size: size?.size ?? null,
        limit: size?.limit ?? null,
        sizeText: size ? `${count(size.size)} of ${count(size.limit)} bytes` : "",
        error,
        reachText,
      });
    })
    .post("/review", async (c) => {
      const app = c.var.consoleApp;
      const values = formValues(await c.req.parseBody());
      try {
        const input = readSend(values);
        const size = sends.measure(app, input);
        const reach = await sends.reach(app.appId, input.audience, input.environment);
        const list = await segments.list(app.appId);
        return c.html(
          <ReviewPage
            c={c}
            app={app}
            input={input}
            values={values}
            reach={reach}
            size={size}
            segments={list}
          />,
        );
      } catch (error) {
        return await compose(c, values, sendErrors(error));
      }
    })
    .post("/", async (c) => {
      const app = c.var.consoleApp;
      const values = formValues(await c.req.parseBody());
      let sendId: string;
      try {
        const input = readSend(values);
        const key = values.idempotencyKey || undefined;
        const result = await sends.create(app, input, key);
        sendId = result.body.sendId;
      } catch (error) {
        return await compose(c, values, sendErrors(error));
      }
      return c.redirect(`/console/apps/${app.appId}/sends/${sendId}`, 303);
    })
    .get("/:sendId", (c) => sendPage(c))
    .get("/:sendId/progress", async (c) => {
      const send = await sends.get(c.var.consoleApp.appId, sendIdParam(c));
      if (isFinal(send)) c.header("x-poll-done", "1");
      return c.html(<Progress send={send} now={now()} />);
    })
    .post("/:sendId/cancel", async (c) => {
      await sends.cancel(c.var.consoleApp.appId, sendIdParam(c));
      return await sendPage(c, "Cancelled: nothing more goes out.");
    });
}
