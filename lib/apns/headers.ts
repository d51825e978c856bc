/**
 * APNs request headers: push types, topic suffixes, priority rules, expiration and collapse id.
 * Pure: no I/O.
 *
 * @module
 */
import { z } from "zod";
import { ValidationFailed } from "../errors.ts";

/** Every `apns-push-type` value the relay supports. */
export const PUSH_TYPES = [
  "alert",
  "background",
  "voip",
  "liveactivity",
  "location",
  "complication",
  "fileprovider",
  "mdm",
  "pushtotalk",
] as const;

/** An `apns-push-type` value. */
export type PushType = typeof PUSH_TYPES[number];

/** Schema of a push type, for the HTTP layer. */
export const PushTypeSchema = z.enum(PUSH_TYPES);

/** Schema of `apns-priority`: 10 (now), 5 (power-considerate) or 1 (lowest). */
export const PrioritySchema = z.union([z.literal(10), z.literal(5), z.literal(1)]);

/** An `apns-priority` value. */
export type Priority = z.infer<typeof PrioritySchema>;

/** APNs' limit on `apns-collapse-id`, in bytes. */
export const COLLAPSE_ID_LIMIT = 64;

const TOPIC_SUFFIX: Record<PushType, string> = {
  alert: "",
  background: "",
  location: ".location-query",
  voip: ".voip",
  complication: ".complication",
  fileprovider: ".pushkit.fileprovider",
  liveactivity: ".push-type.liveactivity",
  pushtotalk: ".voip-ptt",
  mdm: "",
};

/**
 * The `apns-topic` for a bundle id and push type: the bundle id plus the push type's suffix.
 * `mdm` takes its topic as given (the MDM certificate's UID topic).
 */
export function topicFor(bundleId: string, pushType: PushType): string {
  const suffix = TOPIC_SUFFIX[pushType];
  return bundleId.endsWith(suffix) ? bundleId : bundleId + suffix;
}

/** The suffix a topic must end with for a push type ("" when none is required). */
export function topicSuffix(pushType: PushType): string {
  return TOPIC_SUFFIX[pushType];
}

/**
 * The priority used when the caller gives none: 5 where APNs requires or prefers
 * power-considerate delivery (background, fileprovider), 10 otherwise.
 */
export function defaultPriority(pushType: PushType): Priority {
  return pushType === "background" || pushType === "fileprovider" ? 5 : 10;
}

/** Input of {@linkcode buildHeaders}. */
export interface HeaderInput {
  /** The app's bundle id (the base topic), or the full topic for `mdm`. */
  bundleId: string;
  /** The push type. */
  pushType: PushType;
  /** `apns-priority`; default {@linkcode defaultPriority}. `background` must be 5. */
  priority?: Priority;
  /** When APNs stops trying (epoch ms or Date); default none (APNs tries once). */
  expiresAt?: number | Date;
  /** `apns-collapse-id`, ≤ 64 bytes; default none. */
  collapseId?: string;
}

const encoder = new TextEncoder();

/**
 * Builds the APNs request headers (everything but `authorization`).
 *
 * @throws {ValidationFailed} for a background push whose priority is not 5, a priority outside
 *   10|5|1, or a collapse id over 64 bytes.
 * @example buildHeaders({ bundleId: "com.example", pushType: "voip" })["apns-topic"] // "com.example.voip"
 */
export function buildHeaders(input: HeaderInput): Record<string, string> {
  const priority = input.priority ?? defaultPriority(input.pushType);
  if (!PrioritySchema.safeParse(priority).success) {
    throw new ValidationFailed(`priority must be 10, 5 or 1, not ${priority}`, [
      { path: ["priority"], message: "expected 10, 5 or 1", priority },
    ]);
  }
  if (input.pushType === "background" && priority !== 5) {
    throw new ValidationFailed("background pushes must use priority 5", [
      { path: ["priority"], message: "background pushes must use priority 5", priority },
    ]);
  }
  const headers: Record<string, string> = {
    "apns-push-type": input.pushType,
    "apns-topic": topicFor(input.bundleId, input.pushType),
    "apns-priority": String(priority),
  };
  if (input.expiresAt !== undefined) {
    const ms = input.expiresAt instanceof Date ? input.expiresAt.getTime() : input.expiresAt;
    headers["apns-expiration"] = String(Math.max(0, Math.floor(ms / 1000)));
  }
  if (input.collapseId !== undefined) {
    const size = encoder.encode(input.collapseId).byteLength;
    if (size === 0 || size > COLLAPSE_ID_LIMIT) {
      throw new ValidationFailed(`collapseId must be 1–${COLLAPSE_ID_LIMIT} bytes, got ${size}`, [{
        size,
        limit: COLLAPSE_ID_LIMIT,
      }]);
    }
    headers["apns-collapse-id"] = input.collapseId;
  }
  return headers;
}
