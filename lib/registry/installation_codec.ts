/**
 * The stored form of an installation (`inst:<id>` hash), shared by the registry's Lua
 * (scripts/_codec.lua, which documents the layout) and the readers in TypeScript. Layout v2
 * keeps every field small so that Redis stores the hash as a listpack (v8 and v9 made it smaller
 * still); layout v1 (long names, attributes as one JSON object) is still read, until
 * `deno task migrate` rewrites it.
 *
 * @module
 */
import codecLua from "./scripts/_codec.lua" with { type: "text" };
import tokenIndexLua from "./scripts/_token_index.lua" with { type: "text" };
import numbersLua from "./scripts/_numbers.lua" with { type: "text" };
import seenLua from "./scripts/_seen.lua" with { type: "text" };
import type { AttributeMap } from "./schemas.ts";

/**
 * The codec's Lua (`inst_decode`, `inst_encode`, …), the token index's (`tok_get`, `tok_set`,
 * `tok_del`, scripts/_token_index.lua) and the installation numbers' (`inst_number`,
 * `bits_scan`, …, scripts/_numbers.lua) and the recency index's (`seen_put`, `seen_move`,
 * scripts/_seen.lua), prepended to scripts reading installations.
 */
export const installationCodecLua: string =
  `${codecLua}\n${tokenIndexLua}\n${numbersLua}\n${seenLua}`;

/** An installation's stored fields, decoded ("" = unset). */
export interface StoredInstallation {
  secretHash: string;
  token: string;
  environment: string;
  userId: string;
  pushAuthorization: string;
  status: string;
  statusReason: string;
  statusAt: string;
  registeredAt: string;
  lastSeenAt: string;
  createdAt: string;
  stale: string;
  attributes: AttributeMap;
  /** The layout the hash is stored in. */
  layout: 1 | 2;
}

const LONG: Record<string, keyof StoredInstallation> = {
  s: "secretHash",
  t: "token",
  e: "environment",
  u: "userId",
  a: "pushAuthorization",
  st: "status",
  r: "statusReason",
  sa: "statusAt",
  rg: "registeredAt",
  ls: "lastSeenAt",
  c: "createdAt",
  x: "stale",
};
/** Standard attributes, layout v9 (values: a string as itself, anything else "=" + JSON). */
const ATTRIBUTE: Record<string, string> = {
  A: "appVersion",
  O: "osVersion",
  L: "locale",
  Z: "timezone",
  M: "deviceModel",
  S: "sdkVersion",
};
/** Standard attributes before layout v9 (values JSON-encoded). */
const ATTRIBUTE_V2: Record<string, string> = {
  "@a": "appVersion",
  "@o": "osVersion",
  "@l": "locale",
  "@z": "timezone",
  "@m": "deviceModel",
  "@s": "sdkVersion",
};
const ENVIRONMENT: Record<string, string> = { p: "production", d: "development" };

/**
 * The stored fields a push reads (lib/registry/sendable.ts), secret hash first: it is in every
 * hash of layout v2 and later, so a row without it is missing or older.
 */
export const SENDABLE_FIELDS: readonly string[] = ["s", "t", "e", "a", "st", "x", "rg"];

/** What a push needs of a stored installation, decoded as {@linkcode decodeInstallation} would. */
export interface SendableFields {
  token: string;
  environment: string;
  pushAuthorization: string;
  status: string;
  stale: boolean;
  /** Epoch ms as stored ("" = unset). */
  registeredAt: string;
}

/**
 * The values of {@linkcode SENDABLE_FIELDS} for one installation, from `values[at]` on (in that
 * order, nil = not stored), decoded without building the hash; null when there is no secret
 * hash, so the row is missing or in layout v1 and must be read whole.
 */
export function decodeSendableFields(
  values: readonly unknown[],
  at: number,
): SendableFields | null {
  const secretHash = values[at];
  if (secretHash === null || secretHash === undefined || secretHash === "") return null;
  const environment = text(values[at + 2]) || "p";
  return {
    token: text(values[at + 1]),
    environment: ENVIRONMENT[environment] ?? environment,
    pushAuthorization: text(values[at + 3]) || "authorized",
    status: text(values[at + 4]) || "active",
    stale: text(values[at + 5]) === "1",
    registeredAt: text(values[at + 6]),
  };
}

function text(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}
const FIELDS = Object.values(LONG);

/**
 * Decodes a stored hash (v1 or v2; values as Redis returned them); null for an empty hash.
 * A corrupt attribute value is skipped.
 */
export function decodeInstallation(
  hash: Record<string, unknown> | null | undefined,
): StoredInstallation | null {
  if (!hash) return null;
  const keys = Object.keys(hash);
  if (keys.length === 0) return null;
  const str = (v: unknown) => v === undefined || v === null ? "" : String(v);
  const out = Object.fromEntries(FIELDS.map((f) => [f, ""])) as unknown as StoredInstallation;
  out.attributes = {};
  if (hash.id !== undefined) {
    out.layout = 1;
    for (const f of FIELDS) (out as unknown as Record<string, string>)[f] = str(hash[f]);
    try {
      const parsed = JSON.parse(str(hash.attributes) || "{}");
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) out.attributes = parsed;
    } catch { /* a corrupt map reads as empty */ }
    return out;
  }
  out.layout = 2;
  for (const key of keys) {
    const long = LONG[key];
    if (long) {
      (out as unknown as Record<string, string>)[long] = str(hash[key]);
      continue;
    }
    const value = str(hash[key]);
    const name = ATTRIBUTE[key] ?? (key.startsWith(":") ? key.slice(1) : undefined);
    if (name !== undefined) {
      if (!value.startsWith("=")) {
        out.attributes[name] = value;
        continue;
      }
      try {
        out.attributes[name] = JSON.parse(value.slice(1));
      } catch { /* skipped */ }
      continue;
    }
    const old = ATTRIBUTE_V2[key] ?? (key.startsWith(".") ? key.slice(1) : undefined);
    if (old === undefined) continue;
    try {
      out.attributes[old] = JSON.parse(value);
    } catch { /* skipped */ }
  }
  out.environment ||= "p"; // left out for production (layout v9)
  // Times left out because they equal the one they default to (scripts/_codec.lua, layout v8).
  out.createdAt ||= out.registeredAt;
  out.statusAt ||= out.createdAt;
  out.lastSeenAt ||= out.registeredAt;
  out.environment = ENVIRONMENT[out.environment] ?? out.environment;
  out.pushAuthorization ||= "authorized";
  out.status ||= "active";
  return out;
}
