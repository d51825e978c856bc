/**
 * The composer: audience, environment, every notification field, push type and priority (only
 * valid pairs offered), schedule and rate cap, a lock-screen preview and payload size meter
 * (kept live by the script), then a review page that names the reachable count before the
 * send goes out. Each composer carries its own Idempotency-Key, so a double click sends once.
 *
 * @module
 */
import type { Context } from "hono";
import type { AppRecord } from "../../lib/apps/mod.ts";
import { EdgepushError, ValidationFailed } from "../../lib/errors.ts";
import { SegmentNotFound, type SegmentViewData } from "../../lib/segments/mod.ts";
import { CreateSendBody, type CreateSendInput } from "../../lib/sends/mod.ts";
import { issues } from "../middleware/validate.ts";
import { Csrf, Field, type FieldErrors, FormError, Notice, Select } from "./components.tsx";
import type { ConsoleEnv } from "./context.ts";
import { Layout } from "./layout.tsx";
import {
  DataField,
  type FormValues,
  notificationFieldFor,
  NotificationFields,
  readNotification,
} from "./notification_form.tsx";
import { count } from "./words.ts";

/** Push types the composer offers, and the priorities valid for each. */
const PUSH_TYPES = [
  { value: "alert", label: "Alert: shown to the user" },
  { value: "background", label: "Background: silent, wakes the app" },
];
const PRIORITIES = [
  { value: "10", label: "Immediately (10)", data: { types: "alert" } },
  { value: "5", label: "When power allows (5)", data: { types: "alert background" } },
  { value: "1", label: "Lowest, never wakes the device (1)", data: { types: "alert" } },
];

/**
 * Reads a submitted composer into a send request, validated by the API's own schema.
 * @throws {ValidationFailed} with details whose paths name the form's fields.
 */
export function readSend(values: FormValues): CreateSendInput {
  const pushType = values.pushType === "background" ? "background" : "alert";
  const kind = values.audienceKind;
  const audience = kind === "segment"
    ? { segment: values.segmentId ?? "" }
    : kind === "users"
    ? { userIds: (values.userIds ?? "").split(/[\s,]+/).filter(Boolean) }
    : kind === "all"
    ? { all: true as const }
    : null;
  if (!audience) {
    throw new ValidationFailed("invalid", [{
      path: "audienceKind",
      message: "choose who gets it",
    }]);
  }
  const notification = pushType === "background"
    ? readNotification({ data: values.data })
    : readNotification(values);
  const body: Record<string, unknown> = {
    audience,
    pushType,
    ...(notification ? { notification } : {}),
    ...(values.priority ? { priority: Number(values.priority) } : {}),
    ...(values.environment ? { environment: values.environment } : {}),
    ...(values.scheduleAt ? { scheduleAt: `${values.scheduleAt}Z` } : {}),
    ...(values.ratePerSecond ? { ratePerSecond: Number(values.ratePerSecond) } : {}),
  };
  const parsed = CreateSendBody.safeParse(body);
  if (!parsed.success) throw new ValidationFailed("invalid", issues(parsed.error));
  return parsed.data;
}

/** Maps an API issue path to the composer field it is about. */
export function sendFieldFor(path: string): string | null {
  if (path.startsWith("audience.segment")) return "segmentId";
  if (path.startsWith("audience.userIds")) return "userIds";
  if (path.startsWith("audience")) return "audienceKind";
  return notificationFieldFor(path);
}

/** Field errors for a failed composer, with a missing segment placed on its field. */
export function sendErrors(error: unknown): FieldErrors {
  if (error instanceof SegmentNotFound) return { segmentId: "This segment no longer exists." };
  if (!(error instanceof EdgepushError)) throw error;
  const errors: FieldErrors = {};
  for (const d of error.details as Array<{ path?: unknown; message?: unknown }>) {
    const path = Array.isArray(d?.path) ? d.path.join(".") : String(d?.path ?? "");
    const field = sendFieldFor(path) ?? "_form";
    if (typeof d?.message === "string" && !errors[field]) errors[field] = d.message;
  }
  // A payload over its limit names size and limit rather than a path.
  if (Object.keys(errors).length === 0) errors._form = error.message;
  return errors;
}

/** Describes the audience in words. */
export function audienceWords(input: CreateSendInput, segments: SegmentViewData[]): string {
  const a = input.audience;
  const env = input.environment ? ` (${input.environment} only)` : "";
  if ("segment" in a) {
    const name = segments.find((s) => s.segmentId === a.segment)?.name ?? a.segment;
    return `segment "${name}"${env}`;
  }
  if ("userIds" in a) return `${count(a.userIds.length)} listed users${env}`;
  if ("installationIds" in a) return `${count(a.installationIds.length)} installations${env}`;
  return `everyone${env}`;
}

/** Who gets the send: a segment, listed user ids or everyone, and the environment. */
function AudienceFields(
  props: { values: FormValues; errors?: FieldErrors; segments: SegmentViewData[] },
) {
  const v = props.values;
  const e = props.errors;
  const kind = v.audienceKind ?? "segment";
  return (
    <fieldset>
      <legend>Audience</legend>
      {[["segment", "A segment"], ["users", "Listed user ids"], ["all", "Everyone"]].map((
        [value, label],
      ) => (
        <label class="choice">
          <input
            type="radio"
            name="audienceKind"
            value={value}
            checked={kind === value}
          />
          {label}
        </label>
      ))}
      {e?.audienceKind && <p class="field-error">{e.audienceKind}</p>}
      <div data-audience="segment" class={kind === "segment" ? "" : "hidden"}>
        <Select
          name="segmentId"
          label="Segment"
          value={v.segmentId}
          errors={e}
          options={props.segments.length
            ? props.segments.map((s) => ({ value: s.segmentId, label: s.name }))
            : [{ value: "", label: "No segment yet: create one first" }]}
        />
      </div>
      <div data-audience="users" class={kind === "users" ? "" : "hidden"}>
        <Field
          name="userIds"
          label="User ids"
          hint="One per line (or separated by commas), up to 10,000"
          multiline
          value={v.userIds}
          errors={e}
        />
      </div>
      <Select
        name="environment"
        label="Environment"
        value={v.environment}
        errors={e}
        options={[
          { value: "", label: "Both (production and development)" },
          { value: "production", label: "Production only" },
          { value: "development", label: "Development only" },
        ]}
      />
    </fieldset>
  );
}

/** The lock-screen preview, the payload size meter and the reach, kept live by the script. */
function PreviewPanel(props: { app: AppRecord; values: FormValues }) {
  const { app, values: v } = props;
  return (
    <aside class="card" aria-labelledby="preview-h">
      <h2 id="preview-h">Preview</h2>
      <div class="lock-screen" aria-label="Lock screen preview">
        <div class="lock-time">9:41</div>
        <div class="bubble">
          <div class="app">
            <span>{app.name}</span>
            <span>now</span>
          </div>
          <div class="t" data-preview="title">{v.title}</div>
          <div data-preview="subtitle">{v.subtitle}</div>
          <div data-preview="body">{v.body}</div>
          <img data-preview="image" class="hidden" alt="" />
        </div>
      </div>
      <label for="size-meter">Payload size</label>
      <meter id="size-meter" min="0" max="4096" value="0"></meter>
      <p id="size-text" aria-live="polite"></p>
      <p id="check-error" class="field-error" aria-live="polite"></p>
      <p id="reach-text" aria-live="polite"></p>
    </aside>
  );
}

/** The composer page. */
export function ComposePage(
  props: {
    c: Context<ConsoleEnv>;
    app: AppRecord;
    segments: SegmentViewData[];
    values?: FormValues;
    errors?: FieldErrors;
    /** What is wrong with the app's credentials, so nobody sends into a known failure. */
    warnings?: string[];
  },
) {
  const { c, app } = props;
  const v: FormValues = props.values ?? { audienceKind: "segment", pushType: "alert" };
  const e = props.errors;
  const base = `/console/apps/${app.appId}/sends`;
  return (
    <Layout title="New send" session={c.var.session} app={app} place="new-send">
      {props.warnings?.map((w) => <Notice kind="warn">{w}</Notice>)}
      <div class="grid compose">
        <form
          class="card"
          method="post"
          action={`${base}/review`}
          data-compose
          data-check={`${base}/check`}
          novalidate
        >
          <Csrf session={c.var.session} />
          <input
            type="hidden"
            name="idempotencyKey"
            value={v.idempotencyKey ?? crypto.randomUUID()}
          />
          <FormError errors={e} />
          <AudienceFields values={v} errors={e} segments={props.segments} />
          <Select
            name="pushType"
            label="Push type"
            value={v.pushType}
            errors={e}
            options={PUSH_TYPES}
          />
          <Select
            name="priority"
            label="Priority"
            value={v.priority ?? "10"}
            errors={e}
            options={PRIORITIES}
          />
          <NotificationFields values={v} errors={e} full />
          <DataField values={v} errors={e} />
          <Field
            name="scheduleAt"
            label="Schedule (UTC, optional)"
            hint="Leave empty to send now"
            type="datetime-local"
            value={v.scheduleAt}
            errors={e}
          />
          <Field
            name="ratePerSecond"
            label="Rate cap (notifications per second, optional)"
            type="number"
            min={1}
            inputmode="numeric"
            value={v.ratePerSecond}
            errors={e}
          />
          <button type="submit">Send</button>
          <p class="hint">You will see how many devices it reaches and confirm before it goes.</p>
        </form>
        <PreviewPanel app={app} values={v} />
      </div>
    </Layout>
  );
}

/** The review page: the reachable count and a confirmation that names it. */
export function ReviewPage(
  props: {
    c: Context<ConsoleEnv>;
    app: AppRecord;
    input: CreateSendInput;
    values: FormValues;
    reach: number;
    size: { size: number; limit: number };
    segments: SegmentViewData[];
  },
) {
  const { c, app, input, values, reach } = props;
  const base = `/console/apps/${app.appId}/sends`;
  const n = input.notification;
  const devices = `${count(reach)} ${reach === 1 ? "device" : "devices"}`;
  return (
    <Layout title="Review the send" session={c.var.session} app={app} place="new-send">
      <section class="card">
        <p>
          {input.scheduleAt ? "Scheduled for " + input.scheduleAt + ": " : ""}
          <strong>{n?.title || n?.body || "A background push"}</strong> to{" "}
          {audienceWords(input, props.segments)}.
        </p>
        <p>
          It reaches <strong data-reach={reach}>{devices}</strong> now.
        </p>
        {reach === 0 && (
          <Notice kind="warn">
            No device can be reached now: check the audience, or diagnose a device that should be in
            it.
          </Notice>
        )}
        <p class="hint">
          Payload {count(props.size.size)} of {count(props.size.limit)} bytes.
        </p>
        <form method="post" action={base}>
          <Csrf session={c.var.session} />
          {Object.entries(values).filter(([k]) => k !== "_csrf").map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          <button type="submit">Send to {devices}</button>
          <button type="submit" class="secondary" formaction={`${base}/new`}>
            Change something
          </button>
        </form>
      </section>
    </Layout>
  );
}
