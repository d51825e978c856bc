/**
 * Segments: the list with users, reachable installations by environment, last sync and its
 * report; create and edit with a rule builder; member file upload (streamed, with progress);
 * delete; and "sync now".
 *
 * @module
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { ValidationFailed } from "../../lib/errors.ts";
import {
  acquireSyncLock,
  PutSegmentBody,
  runSegmentSync,
  SegmentId,
  type SegmentViewData,
  streamedMemberFormat,
} from "../../lib/segments/mod.ts";
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
import type { ConsoleSession } from "../../lib/console/mod.ts";
import type { ConsoleDeps, ConsoleEnv } from "./context.ts";
import { Layout } from "./layout.tsx";
import { type FormValues, formValues } from "./notification_form.tsx";
import { readRule, RuleBuilder, type RuleRows, segmentFieldFor } from "./rule_builder.tsx";
import { count } from "./words.ts";

/** How long "Sync now" waits for the pass before answering that it runs on. */
const SYNC_WAIT_MS = 5_000;
function Counts(props: { segment: SegmentViewData; now: number }) {
  const s = props.segment;
  return (
    <div class="stat-row" data-counts={s.segmentId}>
      <div class="stat">
        <b data-count="users">{count(s.users)}</b> users
      </div>
      <div class="stat">
        <b data-count="production">{count(s.reachable.production)}</b> reachable in production
      </div>
      <div class="stat">
        <b data-count="development">{count(s.reachable.development)}</b> reachable in development
      </div>
      <div class="stat">
        <b>
          <When iso={s.syncedAt} now={props.now} />
        </b>{" "}
        last sync
      </div>
    </div>
  );
}

function Report(props: { segment: SegmentViewData }) {
  const r = props.segment.report;
  if (!r) return <span>Not synced yet</span>;
  return (
    <span>
      {r.mode} sync: +{count(r.added)} / −{count(r.removed)} ({count(r.corrected)} corrected),{"  "}
      {Math.round(r.durationMs)} ms
    </span>
  );
}

/** The member file upload (streamed by the script, with a progress bar). */
function MemberUploadForm(props: { action: string; session: ConsoleSession | null }) {
  return (
    <form class="card" method="post" action={props.action} data-upload>
      <h2>Upload members</h2>
      <p>
        A text file with one user id per line, or NDJSON (<code>.ndjson</code>, one{" "}
        <code>"id"</code> or <code>{'{"userId": "id"}'}</code>{" "}
        per line). It streams to the server, so files of millions of ids are fine.
      </p>
      <Csrf session={props.session} />
      <div>
        <label for="f-file">Member file</label>
        <input
          id="f-file"
          name="file"
          type="file"
          accept=".txt,.csv,.ndjson,.jsonl,.json,text/plain"
          aria-describedby="upload-error"
        />
        <p class="field-error" id="upload-error" data-upload-error></p>
      </div>
      <Select
        name="mode"
        label="Mode"
        options={[
          { value: "append", label: "Add these users to the members" },
          { value: "replace", label: "Replace the members with this file" },
        ]}
      />
      <progress class="hidden" value="0" max="1" aria-label="Upload progress"></progress>
      <p role="status" data-upload-status></p>
      <button type="submit">Upload members</button>
    </form>
  );
}

/** Deleting a segment, behind a ticked confirmation. */
function DeleteSegmentForm(
  props: { action: string; name: string; session: ConsoleSession | null },
) {
  return (
    <form class="card" method="post" action={props.action}>
      <h2>Delete</h2>
      <Csrf session={props.session} />
      <p>Deleting the segment fails sends still waiting for it.</p>
      <label class="choice">
        <input type="checkbox" name="confirm" value="yes" required />
        Yes, delete "{props.name}" and its members
      </label>
      <button type="submit" class="danger">Delete segment</button>
    </form>
  );
}

/** Segment pages; mounted at `/apps/:appId/segments`. */
export function segmentPages(deps: ConsoleDeps) {
  const { segments } = deps;
  const now = () => (deps.options.now ?? Date.now)();

  function editPage(
    c: Context<ConsoleEnv>,
    opts: {
      segment?: SegmentViewData;
      values?: FormValues;
      errors?: FieldErrors;
      notice?: string;
    },
    status: 200 | 400 = 200,
  ) {
    const record = c.var.consoleApp;
    const base = `/console/apps/${record.appId}/segments`;
    const seg = opts.segment;
    const v = opts.values;
    return c.html(
      <Layout
        title={seg ? `Segment: ${seg.name}` : "New segment"}
        session={c.var.session}
        app={record}
        place="segments"
      >
        {opts.notice && <Notice kind="ok">{opts.notice}</Notice>}
        {seg && (
          <section class="card" aria-labelledby="counts-h">
            <h2 id="counts-h">Counts</h2>
            <div data-refresh-after-upload={`${base}/${seg.segmentId}/counts`}>
              <Counts segment={seg} now={now()} />
            </div>
          </section>
        )}
        <form
          class="card"
          method="post"
          action={seg ? `${base}/${seg.segmentId}` : base}
        >
          <h2>{seg ? "Name and rule" : "Define the segment"}</h2>
          <Csrf session={c.var.session} />
          <FormError errors={opts.errors} />
          {!seg && (
            <Field
              name="segmentId"
              label="Segment id"
              hint="Letters, digits, . _ -; used by the API and the analytics export"
              required
              value={v?.segmentId}
              errors={opts.errors}
            />
          )}
          <Field
            name="name"
            label="Name"
            required
            value={v?.name ?? seg?.name}
            errors={opts.errors}
          />
          <RuleBuilder rule={seg?.rule} values={v} errors={opts.errors} />
          <button type="submit">{seg ? "Save segment" : "Create segment"}</button>
        </form>
        {seg && (
          <>
            <MemberUploadForm action={`${base}/${seg.segmentId}/members`} session={c.var.session} />
            <DeleteSegmentForm
              action={`${base}/${seg.segmentId}/delete`}
              name={seg.name}
              session={c.var.session}
            />
          </>
        )}
      </Layout>,
      status,
    );
  }

  async function listPage(c: Context<ConsoleEnv>, notice?: { kind: "ok" | "bad"; text: string }) {
    const record = c.var.consoleApp;
    const base = `/console/apps/${record.appId}/segments`;
    const list = await segments.list(record.appId);
    return c.html(
      <Layout title="Segments" session={c.var.session} app={record} place="segments">
        {notice && <Notice kind={notice.kind}>{notice.text}</Notice>}
        <p>
          <a class="button" href={`${base}/new`}>New segment</a>
        </p>
        {list.length === 0 ? <p>No segments yet.</p> : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Segment</th>
                  <th scope="col">Users</th>
                  <th scope="col">Reachable (prod / dev)</th>
                  <th scope="col">Last sync</th>
                  <th scope="col">Report</th>
                </tr>
              </thead>
              <tbody>
                {list.map((s) => (
                  <tr data-segment={s.segmentId}>
                    <td>
                      <a href={`${base}/${s.segmentId}`}>{s.name}</a>
                      <span class="hint">
                        <code>{s.segmentId}</code>
                      </span>
                    </td>
                    <td>{count(s.users)}</td>
                    <td>
                      {count(s.reachable.production)} / {count(s.reachable.development)}
                    </td>
                    <td>
                      <When iso={s.syncedAt} now={now()} />
                    </td>
                    <td>
                      <Report segment={s} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <form class="card" method="post" action={`${base}/sync`}>
          <h2>Sync</h2>
          <p>
            Segments update as devices register; the daily sync reconciles them and writes each
            report. Run it now for this app:
          </p>
          <Csrf session={c.var.session} />
          <button type="submit">Sync now</button>
        </form>
      </Layout>,
    );
  }

  async function save(c: Context<ConsoleEnv>, segmentId: string | null) {
    const appId = c.var.consoleApp.appId;
    const values = formValues(await c.req.parseBody());
    const id = segmentId ?? values.segmentId ?? "";
    const existing = segmentId ? await segments.get(appId, segmentId) : undefined;
    let rows: RuleRows = { all: [], any: [] };
    try {
      if (!segmentId && !SegmentId.safeParse(id).success) {
        throw new ValidationFailed("invalid", [{
          path: "segmentId",
          message: "use 1–64 letters, digits, dots, dashes or underscores",
        }]);
      }
      if (values.lastSeenWithinDays && !/^\d+$/.test(values.lastSeenWithinDays)) {
        throw new ValidationFailed("invalid", [{
          path: "lastSeenWithinDays",
          message: "a whole number of days",
        }]);
      }
      const read = readRule(values);
      rows = read.rows;
      const rule = read.rule;
      const parsed = PutSegmentBody.safeParse({ name: values.name, rule });
      if (!parsed.success) throw new ValidationFailed("invalid", issues(parsed.error));
      if (!segmentId && (await segments.ids(appId)).includes(id)) {
        throw new ValidationFailed("invalid", [{
          path: "segmentId",
          message: "a segment with this id exists already",
        }]);
      }
      await segments.put(appId, id, parsed.data);
    } catch (error) {
      return editPage(c, {
        segment: existing,
        values,
        errors: toFieldErrors(error, segmentFieldFor(rows)),
      }, 400);
    }
    return c.redirect(`/console/apps/${appId}/segments/${id}?saved=1`, 303);
  }

  return new Hono<ConsoleEnv>()
    .get("/", (c) => listPage(c))
    .get("/new", (c) => editPage(c, {}))
    .post("/", (c) => save(c, null))
    .post("/sync", async (c) => {
      const appId = c.var.consoleApp.appId;
      const lock = await acquireSyncLock(deps.redis, appId);
      if (!lock) {
        return await listPage(c, {
          kind: "bad",
          text: "A sync is already running for this app; try again in a minute.",
        });
      }
      // The same run as the daily job and the API's segment-sync; a large app's pass goes on
      // in the background past this answer.
      const run = runSegmentSync({
        redis: deps.redis,
        appIds: [appId],
        now: deps.options.now,
        staleAfterDays: deps.options.staleAfterDays,
        segments,
        registry: deps.registry,
        heldLocks: new Map([[appId, lock]]),
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finished = await Promise.race([
        run.then((report) => report.apps[0]),
        new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), SYNC_WAIT_MS)),
      ]).finally(() => clearTimeout(timer));
      run.catch((error) =>
        deps.logger.error("segment sync failed", { appId, message: String(error) })
      );
      if (!finished) {
        return await listPage(c, {
          kind: "ok",
          text: "The sync is running; reload this page in a minute to see the new reports.",
        });
      }
      if (finished.status !== "synced") {
        return await listPage(c, {
          kind: "bad",
          text: `The sync did not finish (${finished.status}); try again.`,
        });
      }
      return await listPage(c, { kind: "ok", text: "Synced: every segment has a fresh report." });
    })
    .get("/:segmentId", async (c) => {
      const segment = await segments.get(c.var.consoleApp.appId, c.req.param("segmentId"));
      const notice = c.req.query("saved") ? "Segment saved." : undefined;
      return editPage(c, { segment, notice });
    })
    .get("/:segmentId/counts", async (c) => {
      const segment = await segments.get(c.var.consoleApp.appId, c.req.param("segmentId"));
      return c.html(<Counts segment={segment} now={now()} />);
    })
    .post("/:segmentId", (c) => save(c, c.req.param("segmentId")))
    .post("/:segmentId/delete", async (c) => {
      const appId = c.var.consoleApp.appId;
      const segmentId = c.req.param("segmentId");
      if ((await c.req.parseBody()).confirm !== "yes") {
        const segment = await segments.get(appId, segmentId);
        return editPage(c, {
          segment,
          notice: undefined,
          errors: { _form: "Tick the box to confirm the deletion." },
        }, 400);
      }
      await segments.remove(appId, segmentId);
      return await listPage(c, { kind: "ok", text: `Segment ${segmentId} deleted.` });
    })
    .post("/:segmentId/members", async (c) => {
      const appId = c.var.consoleApp.appId;
      const segmentId = c.req.param("segmentId");
      const mode = c.req.query("mode") === "replace" ? "replace" : "append";
      const format = streamedMemberFormat(c.req.header("content-type"));
      if (!format || !c.req.raw.body) {
        return c.json({ error: "Send the file as text/plain or NDJSON." }, 400);
      }
      try {
        const result = await segments.uploadStream(appId, segmentId, c.req.raw.body, {
          format,
          mode,
        });
        return c.json({
          ...result,
          message: `Uploaded: ${count(result.added)} added, ${count(result.removed)} removed; ` +
            `${count(result.members)} members now.`,
        });
      } catch (error) {
        if (error instanceof ValidationFailed) {
          return c.json({ error: toFieldErrors(error, () => null)._form }, 400);
        }
        throw error;
      }
    });
}
