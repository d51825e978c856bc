/**
 * The segment pages' markup: the list with users, reachable installations and the last sync's
 * report, the create/edit page with the rule builder, the member upload and delete forms.
 * routes/console/segments.tsx reads the forms and renders these.
 *
 * @module
 */
import type { Context } from "hono";
import type { SegmentViewData } from "../../lib/segments/mod.ts";
import type { ConsoleSession } from "../../lib/console/mod.ts";
import { Csrf, Field, type FieldErrors, FormError, Notice, Select, When } from "./components.tsx";
import type { ConsoleEnv } from "./context.ts";
import { Layout } from "./layout.tsx";
import type { FormValues } from "./notification_form.tsx";
import { RuleBuilder } from "./rule_builder.tsx";
import { count } from "./words.ts";

/** A segment's counts (also the fragment refreshed after a member upload). */
export function Counts(props: { segment: SegmentViewData; now: number }) {
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

/** The last sync's report of a segment, in one line. */
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

/** A segment's page (`segment` set) or the new-segment page, with what the form was sent with. */
export function SegmentEditPage(
  props: {
    c: Context<ConsoleEnv>;
    /** Clock in epoch ms. */
    now: () => number;
    segment?: SegmentViewData;
    values?: FormValues;
    errors?: FieldErrors;
    notice?: string;
  },
) {
  const record = props.c.var.consoleApp;
  const session = props.c.var.session;
  const base = `/console/apps/${record.appId}/segments`;
  const seg = props.segment;
  const v = props.values;
  return (
    <Layout
      title={seg ? `Segment: ${seg.name}` : "New segment"}
      session={session}
      app={record}
      place="segments"
    >
      {props.notice && <Notice kind="ok">{props.notice}</Notice>}
      {seg && (
        <section class="card" aria-labelledby="counts-h">
          <h2 id="counts-h">Counts</h2>
          <div data-refresh-after-upload={`${base}/${seg.segmentId}/counts`}>
            <Counts segment={seg} now={props.now()} />
          </div>
        </section>
      )}
      <form
        class="card"
        method="post"
        action={seg ? `${base}/${seg.segmentId}` : base}
      >
        <h2>{seg ? "Name and rule" : "Define the segment"}</h2>
        <Csrf session={session} />
        <FormError errors={props.errors} />
        {!seg && (
          <Field
            name="segmentId"
            label="Segment id"
            hint="Letters, digits, . _ -; used by the API and the analytics export"
            required
            value={v?.segmentId}
            errors={props.errors}
          />
        )}
        <Field
          name="name"
          label="Name"
          required
          value={v?.name ?? seg?.name}
          errors={props.errors}
        />
        <RuleBuilder rule={seg?.rule} values={v} errors={props.errors} />
        <button type="submit">{seg ? "Save segment" : "Create segment"}</button>
      </form>
      {seg && (
        <>
          <MemberUploadForm action={`${base}/${seg.segmentId}/members`} session={session} />
          <DeleteSegmentForm
            action={`${base}/${seg.segmentId}/delete`}
            name={seg.name}
            session={session}
          />
        </>
      )}
    </Layout>
  );
}

/** The segment list of the app, with "New segment" and "Sync now". */
export function SegmentListPage(
  props: {
    c: Context<ConsoleEnv>;
    /** Clock in epoch ms. */
    now: () => number;
    list: SegmentViewData[];
    notice?: { kind: "ok" | "bad"; text: string };
  },
) {
  const record = props.c.var.consoleApp;
  const session = props.c.var.session;
  const base = `/console/apps/${record.appId}/segments`;
  const { list, notice } = props;
  return (
    <Layout title="Segments" session={session} app={record} place="segments">
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
                    <When iso={s.syncedAt} now={props.now()} />
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
        <Csrf session={session} />
        <button type="submit">Sync now</button>
      </form>
    </Layout>
  );
}
