/**
 * Small building blocks of console pages: labelled fields with their error, notices, the
 * CSRF hidden input and form-error mapping from the domain's validation errors.
 *
 * @module
 */
import type { Child } from "hono/jsx";
import { EdgepushError } from "../../lib/errors.ts";
import type { ConsoleSession } from "../../lib/console/mod.ts";

/** Field name → the message to show next to it; `_form` is shown above the form. */
export type FieldErrors = Record<string, string>;

/** The CSRF token every form carries. */
export function Csrf(props: { session: ConsoleSession | null }) {
  return props.session ? <input type="hidden" name="_csrf" value={props.session.csrf} /> : null;
}

/** Props of {@linkcode Field}. */
export interface FieldProps {
  name: string;
  label: string;
  hint?: string;
  errors?: FieldErrors;
  type?: string;
  value?: string | number | null;
  required?: boolean;
  placeholder?: string;
  autocomplete?: string;
  inputmode?: "numeric" | "text" | "email" | "url";
  min?: number;
  max?: number;
  accept?: string;
  /** Render a textarea instead of an input. */
  multiline?: boolean;
  id?: string;
}

/** A visible label, the control, a hint and the field's error, wired with aria attributes. */
export function Field(props: FieldProps) {
  const id = props.id ?? `f-${props.name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  const error = props.errors?.[props.name];
  const describedBy = [props.hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean)
    .join(" ") || undefined;
  const common = {
    id,
    name: props.name,
    required: props.required,
    "aria-invalid": error ? "true" : undefined,
    "aria-describedby": describedBy,
    placeholder: props.placeholder,
  };
  return (
    <div>
      <label for={id}>
        {props.label}
        {props.hint && <span class="hint" id={`${id}-hint`}>{props.hint}</span>}
      </label>
      {props.multiline ? <textarea {...common}>{props.value ?? ""}</textarea> : (
        <input
          {...common}
          type={props.type ?? "text"}
          value={props.type === "file" ? undefined : props.value ?? undefined}
          autocomplete={props.autocomplete}
          inputmode={props.inputmode}
          min={props.min}
          max={props.max}
          accept={props.accept}
        />
      )}
      {error && <p class="field-error" id={`${id}-error`}>{error}</p>}
    </div>
  );
}

/** A select with a visible label and its error. */
export function Select(
  props: {
    name: string;
    label: string;
    options: Array<{ value: string; label: string; data?: Record<string, string> }>;
    value?: string;
    errors?: FieldErrors;
    hint?: string;
  },
) {
  const id = `f-${props.name}`;
  const error = props.errors?.[props.name];
  return (
    <div>
      <label for={id}>
        {props.label}
        {props.hint && <span class="hint">{props.hint}</span>}
      </label>
      <select
        id={id}
        name={props.name}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      >
        {props.options.map((o) => (
          <option
            value={o.value}
            selected={o.value === props.value}
            {...Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [`data-${k}`, v]))}
          >
            {o.label}
          </option>
        ))}
      </select>
      {error && <p class="field-error" id={`${id}-error`}>{error}</p>}
    </div>
  );
}

/** A coloured notice box. */
export function Notice(props: { kind?: "ok" | "bad" | "warn"; children?: Child }) {
  return (
    <div class={`notice ${props.kind ?? ""}`} role={props.kind === "bad" ? "alert" : "status"}>
      {props.children}
    </div>
  );
}

/** The form-level error, when there is one. */
export function FormError(props: { errors?: FieldErrors }) {
  const message = props.errors?._form;
  return message ? <Notice kind="bad">{message}</Notice> : null;
}

/**
 * Maps a domain error to field errors. `fieldFor` turns an issue path (`notification.title`)
 * into the form's field name; issues it cannot place land in `_form`.
 */
export function toFieldErrors(
  error: unknown,
  fieldFor: (path: string) => string | null = (p) => p || null,
): FieldErrors {
  if (!(error instanceof EdgepushError)) throw error;
  const errors: FieldErrors = {};
  for (const detail of error.details) {
    if (!detail || typeof detail !== "object") continue;
    const d = detail as { path?: unknown; message?: unknown };
    const path = Array.isArray(d.path) ? d.path.map(String).join(".") : String(d.path ?? "");
    const field = fieldFor(path);
    if (field && typeof d.message === "string" && !errors[field]) {
      errors[field] = sentence(d.message);
    }
  }
  if (Object.keys(errors).length === 0) errors._form = sentence(error.message);
  return errors;
}

function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** "3 minutes ago"-style time with the ISO time as a tooltip. */
export function When(props: { iso: string | null | undefined; now?: number }) {
  if (!props.iso) return <span>—</span>;
  const ms = Date.parse(props.iso);
  const diff = (props.now ?? Date.now()) - ms;
  const abs = Math.abs(diff);
  const unit = abs < 60_000
    ? "just now"
    : abs < 3_600_000
    ? `${Math.round(abs / 60_000)} min`
    : abs < 86_400_000
    ? `${Math.round(abs / 3_600_000)} h`
    : `${Math.round(abs / 86_400_000)} days`;
  const text = unit === "just now" ? unit : diff >= 0 ? `${unit} ago` : `in ${unit}`;
  return <time datetime={props.iso} title={props.iso}>{text}</time>;
}
