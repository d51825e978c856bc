/**
 * Renders the APNs JSON payload from the API's `notification` (or a raw `aps`) and enforces
 * APNs' size limits before anything is sent. Pure: no I/O.
 *
 * @module
 */
import { z } from "zod";
import { ValidationFailed } from "../errors.ts";
import type { PushType } from "./headers.ts";

/** APNs' payload limit in bytes for every push type but VoIP. */
export const PAYLOAD_LIMIT = 4096;
/** APNs' payload limit in bytes for VoIP pushes. */
export const VOIP_PAYLOAD_LIMIT = 5120;

/** Top-level payload keys the relay itself writes, so `data` may not use them. */
const RESERVED_KEYS = new Set(["aps", "url", "image"]);

/** A custom `data` key: non-empty, bounded, and never one of the reserved top-level keys. */
export const DataKeySchema = z.string().min(1).max(64).refine((key) => !RESERVED_KEYS.has(key), {
  message: "data keys may not be aps, url or image (the relay writes those)",
});

/** Custom key/value data carried at the payload's top level (≤ 50 keys, JSON values). */
export const DataSchema = z.record(DataKeySchema, z.json()).refine(
  (data) => Object.keys(data).length <= 50,
  { message: "data may hold at most 50 keys" },
);

/** `interruption-level` values APNs accepts. */
export const InterruptionLevelSchema = z.enum(["passive", "active", "time-sensitive", "critical"]);

/** An https URL (the only scheme a notification service extension should fetch from). */
export const HttpsUrlSchema = z.string().max(2048).refine((value) => {
  if (!URL.canParse(value)) return false;
  return new URL(value).protocol === "https:";
}, { message: "must be an https URL" });

/** A landing URL the SDK opens on tap: any absolute URL (https or the app's own scheme). */
export const LandingUrlSchema = z.string().max(2048).refine((value) => URL.canParse(value), {
  message: "must be an absolute URL",
});

/**
 * Bound of the free-text fields. Far above any payload limit on purpose: text that cannot fit
 * is refused by the rendered-payload check, whose error gives the size and the limit (as the
 * contract pins); this bound only keeps absurd input out.
 */
const TEXT_MAX = 65_536;

/**
 * The API's `notification` object. Strict: unknown keys are rejected. The payload limit (4096
 * bytes, 5120 for VoIP), checked on the rendered payload, is what really bounds the text.
 */
export const NotificationSchema = z.strictObject({
  title: z.string().max(TEXT_MAX).optional(),
  subtitle: z.string().max(TEXT_MAX).optional(),
  body: z.string().max(TEXT_MAX).optional(),
  badge: z.number().int().min(0).max(999_999).optional(),
  sound: z.string().min(1).max(256).optional(),
  image: HttpsUrlSchema.optional(),
  url: LandingUrlSchema.optional(),
  category: z.string().min(1).max(256).optional(),
  threadId: z.string().min(1).max(256).optional(),
  interruptionLevel: InterruptionLevelSchema.optional(),
  relevanceScore: z.number().min(0).max(1).optional(),
  data: DataSchema.optional(),
});

/** A `notification` as accepted by {@linkcode buildPayload}. */
export type Notification = z.infer<typeof NotificationSchema>;

/** A raw `aps` dictionary for callers that need APNs features the notification does not model. */
export const ApsSchema = z.record(z.string().min(1).max(64), z.json());

/** Input of {@linkcode buildPayload}. */
export interface PayloadInput {
  /** The structured notification. */
  notification?: Notification;
  /** A raw `aps` dictionary; its keys win over those derived from `notification`. */
  aps?: Record<string, unknown>;
  /** The push type; `background` renders `content-available` only, `voip` raises the limit. */
  pushType: PushType;
  /**
   * Extra top-level keys written by the relay itself (for example the send id the SDK reports
   * back). They must not collide with `aps` or the notification's keys.
   */
  extra?: Record<string, unknown>;
}

/** A rendered payload: the JSON body and its size in UTF-8 bytes. */
export interface Payload {
  body: string;
  size: number;
}

const encoder = new TextEncoder();

/**
 * A background push wakes the app silently: APNs drops alert content from it, so asking for
 * some is a mistake to report, not to drop. Only `data` (and a raw `content-available`) fit.
 */
function refuseVisibleContent(n: Notification, aps: Record<string, unknown> | undefined) {
  const fields = Object.entries(n).filter(([key, value]) => key !== "data" && value !== undefined)
    .map(([key]) => key)
    .map((key) => ["notification", key])
    .concat(
      Object.keys(aps ?? {}).filter((key) => key !== "content-available").map((key) => [
        "aps",
        key,
      ]),
    );
  if (fields.length === 0) return;
  throw new ValidationFailed(
    `a background push carries only data: remove ${fields.map((f) => f.join(".")).join(", ")}`,
    fields.map((path) => ({ path, message: "not allowed in a background push" })),
  );
}

/**
 * Renders the APNs payload.
 *
 * - `image` sets `mutable-content: 1` and is carried top-level as `image`;
 * - `url` is carried top-level as `url` for the SDK;
 * - `data` keys go top-level;
 * - `background` → `{"aps":{"content-available":1}}` plus data only.
 *
 * @throws {ValidationFailed} when the payload is over 4096 bytes (5120 for `voip`), with
 *   `details: [{size, limit}]`; when a key collides; for a background push given alert content;
 *   for an alert push with nothing to show.
 * @example buildPayload({ pushType: "alert", notification: { title: "Hi" } }).body
 */
export function buildPayload(input: PayloadInput): Payload {
  const n = input.notification ?? {};
  const payload: Record<string, unknown> = {};
  let aps: Record<string, unknown>;
  if (input.pushType === "background") {
    refuseVisibleContent(n, input.aps);
    aps = { "content-available": 1 };
  } else {
    aps = {};
    const alert: Record<string, string> = {};
    if (n.title !== undefined) alert.title = n.title;
    if (n.subtitle !== undefined) alert.subtitle = n.subtitle;
    if (n.body !== undefined) alert.body = n.body;
    if (Object.keys(alert).length > 0) aps.alert = alert;
    if (n.badge !== undefined) aps.badge = n.badge;
    if (n.sound !== undefined) aps.sound = n.sound;
    if (n.category !== undefined) aps.category = n.category;
    if (n.threadId !== undefined) aps["thread-id"] = n.threadId;
    if (n.interruptionLevel !== undefined) aps["interruption-level"] = n.interruptionLevel;
    if (n.relevanceScore !== undefined) aps["relevance-score"] = n.relevanceScore;
    if (n.image !== undefined) {
      // The service extension downloads the image, and it only runs with mutable-content.
      aps["mutable-content"] = 1;
      payload.image = n.image;
    }
    if (n.url !== undefined) payload.url = n.url;
    Object.assign(aps, input.aps ?? {});
    if (input.pushType === "alert" && Object.keys(aps).length === 0) {
      throw new ValidationFailed(
        "an alert push needs something to show: notification title, subtitle, body, badge, " +
          "sound or image, or a raw aps",
        [{ path: ["notification"], message: "nothing to show" }],
      );
    }
  }
  for (const [key, value] of Object.entries({ ...n.data, ...input.extra })) {
    if (key === "aps" || key in payload) {
      throw new ValidationFailed(`payload key "${key}" collides with a key the relay writes`, [{
        key,
      }]);
    }
    payload[key] = value;
  }
  const body = JSON.stringify({ aps, ...payload });
  const size = encoder.encode(body).byteLength;
  const limit = input.pushType === "voip" ? VOIP_PAYLOAD_LIMIT : PAYLOAD_LIMIT;
  if (size > limit) {
    throw new ValidationFailed(
      `the rendered APNs payload is ${size} bytes, over the ${limit}-byte limit`,
      [{ size, limit }],
    );
  }
  return { body, size };
}
