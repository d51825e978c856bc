/**
 * The notification fields shared by the composer and the test-device preview: rendering them
 * with labels and errors, and reading a submitted form into the API's `notification` object
 * (validated by the same zod schema as the API).
 *
 * @module
 */
import { type Notification, NotificationSchema } from "../../lib/apns/payload.ts";
import { ValidationFailed } from "../../lib/errors.ts";
import { issues } from "../middleware/validate.ts";
import { Field, type FieldErrors } from "./components.tsx";

/** Form values as submitted (strings). */
export type FormValues = Record<string, string | undefined>;

/** The text fields of a notification. */
const TEXT_FIELDS = ["title", "subtitle", "body", "image", "url", "sound"] as const;

/** Reads string fields of a parsed body, trimmed. */
export function formValues(form: Record<string, unknown>): FormValues {
  const values: FormValues = {};
  for (const [key, value] of Object.entries(form)) {
    if (typeof value === "string") values[key] = value.trim();
  }
  return values;
}

/**
 * Builds the `notification` object from form values; empty fields are left out.
 * @throws {ValidationFailed} with details whose paths are the form's field names.
 */
export function readNotification(values: FormValues): Notification | undefined {
  const raw: Record<string, unknown> = {};
  for (const key of TEXT_FIELDS) if (values[key]) raw[key] = values[key];
  const problems: Array<{ path: string; message: string }> = [];
  if (values.badge) {
    const badge = Number(values.badge);
    if (!Number.isInteger(badge)) problems.push({ path: "badge", message: "a whole number" });
    else raw.badge = badge;
  }
  if (values.data) {
    try {
      const data = JSON.parse(values.data);
      if (!data || typeof data !== "object" || Array.isArray(data)) {
        problems.push({ path: "data", message: 'custom data is a JSON object, e.g. {"k": "v"}' });
      } else raw.data = data;
    } catch {
      problems.push({ path: "data", message: 'custom data must be JSON, e.g. {"k": "v"}' });
    }
  }
  if (problems.length) throw new ValidationFailed("invalid notification", problems);
  if (Object.keys(raw).length === 0) return undefined;
  const parsed = NotificationSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ValidationFailed("invalid notification", issues(parsed.error));
  }
  return parsed.data;
}

/** Maps an API issue path to the form field it is about. */
export function notificationFieldFor(path: string): string | null {
  if (path.startsWith("notification.")) return path.split(".")[1];
  if (path === "notification") return "title";
  if (path.startsWith("data.") || path === "data") return "data";
  return path.split(".")[0] || null;
}

/** The notification fields with labels. `full` adds the advanced ones (badge, sound, data). */
export function NotificationFields(
  props: { values?: FormValues; errors?: FieldErrors; full?: boolean },
) {
  const v = props.values ?? {};
  const e = props.errors;
  return (
    <fieldset data-alert-only>
      <legend>Notification</legend>
      <Field name="title" label="Title" value={v.title} errors={e} />
      <Field name="subtitle" label="Subtitle" value={v.subtitle} errors={e} />
      <Field name="body" label="Body" value={v.body} errors={e} multiline />
      <Field
        name="image"
        label="Image (https URL)"
        hint="Shown in the expanded notification; the app's service extension downloads it"
        type="url"
        value={v.image}
        errors={e}
      />
      <Field
        name="url"
        label="Landing URL"
        hint="Opened by the SDK when the notification is tapped"
        value={v.url}
        errors={e}
      />
      {props.full && (
        <>
          <Field
            name="badge"
            label="Badge"
            hint="The number on the app icon; 0 clears it"
            type="number"
            min={0}
            inputmode="numeric"
            value={v.badge}
            errors={e}
          />
          <Field
            name="sound"
            label="Sound"
            hint='"default", a sound file in the app, or empty for silent'
            value={v.sound}
            errors={e}
          />
        </>
      )}
    </fieldset>
  );
}

/** The custom-data field (background pushes carry it too). */
export function DataField(props: { values?: FormValues; errors?: FieldErrors }) {
  return (
    <Field
      name="data"
      label="Custom data (JSON object)"
      hint='Top-level keys the app reads, e.g. {"promo": "spring"}'
      value={props.values?.data}
      errors={props.errors}
      multiline
    />
  );
}
