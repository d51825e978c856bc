/**
 * The segment rule builder: rows of attribute, operator and value, all/any, and "last seen
 * within N days"; rendering it (with the rows of a rule or of a refused form) and reading a
 * submitted form back into a rule.
 *
 * @module
 */
import type { RuleData } from "../../lib/segments/mod.ts";
import { Field, type FieldErrors } from "./components.tsx";
import type { FormValues } from "./notification_form.tsx";

const OPS = [
  { value: "eq", label: "is" },
  { value: "in", label: "is one of (comma-separated)" },
  { value: "prefix", label: "starts with" },
  { value: "semverGte", label: "version at least" },
  { value: "semverLt", label: "version below" },
];

/** Empty rows offered below the rule's conditions (more can be added with the script). */
const SPARE_ROWS = 2;
const MAX_ROWS = 20;
interface Row {
  attribute: string;
  op: string;
  value: string;
  /** Set only for a rule that mixes `all` and `any` (made through the API): kept as it is. */
  group?: "all" | "any";
}

/** The form rows of each group, in rule order (to place errors on the right row). */
export interface RuleRows {
  all: number[];
  any: number[];
}

function rowsOf(rule: RuleData | null | undefined): { match: "all" | "any"; rows: Row[] } {
  const toRow = (group?: "all" | "any") => (c: NonNullable<RuleData["all"]>[number]): Row => ({
    attribute: c.attribute,
    op: c.op,
    value: Array.isArray(c.value) ? c.value.join(", ") : String(c.value),
    ...(group ? { group } : {}),
  });
  if (rule?.all && rule.any) {
    return {
      match: "all",
      rows: [...rule.all.map(toRow("all")), ...rule.any.map(toRow("any"))],
    };
  }
  const match = rule?.any ? "any" : "all";
  return { match, rows: ((match === "any" ? rule?.any : rule?.all) ?? []).map(toRow()) };
}

function RuleRow(props: { i: number | "__i__"; row?: Row; errors?: FieldErrors }) {
  const { i, row, errors } = props;
  return (
    <div class="rule-row">
      {row?.group && <input type="hidden" name={`cond.${i}.group`} value={row.group} />}
      <Field
        name={`cond.${i}.attribute`}
        id={`cond-${i}-attribute`}
        label="Attribute"
        placeholder="e.g. locale, appVersion, environment"
        value={row?.attribute}
        errors={errors}
      />
      <div>
        <label for={`cond-${i}-op`}>Operator</label>
        <select id={`cond-${i}-op`} name={`cond.${i}.op`}>
          {OPS.map((o) => <option value={o.value} selected={row?.op === o.value}>{o.label}
          </option>)}
        </select>
      </div>
      <Field
        name={`cond.${i}.value`}
        id={`cond-${i}-value`}
        label="Value"
        value={row?.value}
        errors={errors}
      />
    </div>
  );
}

/** Parses a value typed in the builder: numbers and booleans stay strings unless obvious. */
function scalar(text: string): string | number | boolean {
  if (text === "true") return true;
  if (text === "false") return false;
  return text;
}

/**
 * Reads the rule builder's fields into a rule (null when it has no condition), with the form
 * row of each condition (to place errors next to the right row).
 */
export function readRule(values: FormValues): { rule: RuleData | null; rows: RuleRows } {
  const groups = { all: [] as unknown[], any: [] as unknown[] };
  const rows: RuleRows = { all: [], any: [] };
  const fallback = values.match === "any" ? "any" : "all";
  for (let i = 0; i < MAX_ROWS + SPARE_ROWS + 20; i++) {
    const attribute = values[`cond.${i}.attribute`];
    const op = values[`cond.${i}.op`] ?? "eq";
    const value = values[`cond.${i}.value`] ?? "";
    if (!attribute && !value) continue;
    const group = values[`cond.${i}.group`] === "any"
      ? "any"
      : values[`cond.${i}.group`] === "all"
      ? "all"
      : fallback;
    groups[group].push({
      attribute: attribute ?? "",
      op,
      value: op === "in"
        ? value.split(",").map((v) => v.trim()).filter(Boolean).map(scalar)
        : op === "eq"
        ? scalar(value)
        : value,
    });
    rows[group].push(i);
  }
  const days = values.lastSeenWithinDays ? Number(values.lastSeenWithinDays) : undefined;
  if (!groups.all.length && !groups.any.length && days === undefined) return { rule: null, rows };
  const rule: Record<string, unknown> = {};
  if (groups.all.length) rule.all = groups.all;
  if (groups.any.length) rule.any = groups.any;
  if (days !== undefined) rule.lastSeenWithinDays = days;
  return { rule: rule as RuleData, rows };
}

/** Maps an API issue path to the builder field it is about (by the condition's form row). */
export function segmentFieldFor(rows: RuleRows) {
  return (path: string): string | null => {
    const m = /^rule\.(all|any)\.(\d+)\.(attribute|op|value)/.exec(path);
    if (m) {
      const row = rows[m[1] as "all" | "any"][Number(m[2])] ?? m[2];
      return `cond.${row}.${m[3] === "op" ? "value" : m[3]}`;
    }
    if (path.startsWith("rule.lastSeenWithinDays")) return "lastSeenWithinDays";
    if (path.startsWith("rule")) return "_form";
    return path.split(".")[0] || null;
  };
}

/** The highest row a submitted form filled in (at least the spare rows). */
function lastRow(values: FormValues): number {
  let last = SPARE_ROWS - 1;
  for (let i = 0; i < MAX_ROWS + SPARE_ROWS + 20; i++) {
    if (values[`cond.${i}.attribute`] || values[`cond.${i}.value`]) last = i;
  }
  return last;
}

/** The rule builder fieldset, filled from a stored rule or from a refused form's values. */
export function RuleBuilder(
  props: { rule?: RuleData | null; values?: FormValues; errors?: FieldErrors },
) {
  const v = props.values;
  const fromValues = v
    ? {
      match: (v.match === "any" ? "any" : "all") as "all" | "any",
      // Rows keep their numbers, so an error found on row 3 is shown on row 3.
      rows: Array.from({ length: lastRow(v) + 1 }, (_, i): Row => {
        const group = v[`cond.${i}.group`];
        return {
          attribute: v[`cond.${i}.attribute`] ?? "",
          op: v[`cond.${i}.op`] ?? "eq",
          value: v[`cond.${i}.value`] ?? "",
          ...(group === "all" || group === "any" ? { group } : {}),
        };
      }),
    }
    : rowsOf(props.rule);
  const rows = [...fromValues.rows, ...Array(v ? 0 : SPARE_ROWS).fill(undefined)];
  const days = v?.lastSeenWithinDays ?? props.rule?.lastSeenWithinDays?.toString() ?? "";
  return (
    <fieldset data-rule-builder>
      <legend>Rule (optional)</legend>
      <p class="hint">
        Members are the uploaded users; the rule narrows which of their installations count.
      </p>
      {fromValues.rows.some((r) => r.group) && (
        <p class="hint">
          This rule mixes "all" and "any" conditions (it was set through the API); each existing row
          keeps its group, new rows follow the choice below.
        </p>
      )}
      <div>
        <label class="choice">
          <input type="radio" name="match" value="all" checked={fromValues.match === "all"} />
          All conditions must hold
        </label>
        <label class="choice">
          <input type="radio" name="match" value="any" checked={fromValues.match === "any"} />
          Any condition is enough
        </label>
      </div>
      <div data-rows>
        {rows.map((row, i) => <RuleRow i={i} row={row} errors={props.errors} />)}
      </div>
      <template>
        <RuleRow i="__i__" />
      </template>
      <button type="button" class="secondary" data-add-row>Add a condition</button>
      <Field
        name="lastSeenWithinDays"
        label="Last seen within (days)"
        hint="Leave empty for no recency limit"
        type="number"
        min={1}
        inputmode="numeric"
        value={days}
        errors={props.errors}
      />
    </fieldset>
  );
}
