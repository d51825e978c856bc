/**
 * Reading APNs' answer: its JSON body is untrusted, so it is size-capped and validated, and its
 * `retry-after` header becomes a bounded delay.
 *
 * @module
 */
import { z } from "zod";

/** APNs' answer. `reason` and `timestamp` come from its JSON body, validated. */
export interface ApnsResponse {
  status: number;
  apnsId?: string;
  reason?: string;
  timestamp?: number;
  /** For a 429 or 5xx: how long APNs asked to wait before a retry (`retry-after`), ms. */
  retryAfterMs?: number;
}

/** The most of an APNs answer body that is kept and parsed. */
export const MAX_ANSWER_BYTES = 4096;

const AnswerBody = z.object({
  reason: z.string().max(128).optional(),
  timestamp: z.number().int().nonnegative().optional(),
});

/** Turns a status, headers and body into an {@linkcode ApnsResponse}; bad fields are dropped. */
export function parseAnswer(
  status: number,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: Uint8Array,
  nowMs: number = Date.now(),
): ApnsResponse {
  const apnsId = typeof headers["apns-id"] === "string"
    ? headers["apns-id"].slice(0, 64)
    : undefined;
  const result: ApnsResponse = { status, apnsId };
  if (body.byteLength > 0 && body.byteLength <= MAX_ANSWER_BYTES) {
    try {
      const parsed = AnswerBody.safeParse(JSON.parse(new TextDecoder().decode(body)));
      if (parsed.success) {
        if (parsed.data.reason !== undefined) result.reason = parsed.data.reason;
        if (parsed.data.timestamp !== undefined) result.timestamp = parsed.data.timestamp;
      }
    } catch {
      // Not JSON: keep the status only.
    }
  }
  if (status !== 200 && result.reason === undefined) result.reason = `HTTP${status}`;
  if (status === 429 || status >= 500) {
    const wait = retryAfterMs(headers["retry-after"], nowMs);
    if (wait !== undefined) result.retryAfterMs = wait;
  }
  return result;
}

/**
 * The wait before retry number `attempt`: `retry-after` (seconds or an HTTP date, read at
 * `nowMs`) when APNs gave one, else exponential backoff from `backoffMs` with full jitter.
 */
export function retryDelay(
  attempt: number,
  retryAfter: string | string[] | undefined,
  backoffMs: number,
  nowMs: number = Date.now(),
): number {
  return retryAfterMs(retryAfter, nowMs) ?? Math.random() * backoffMs * 2 ** (attempt - 1);
}

/** A `retry-after` header (seconds or an HTTP date) in ms; undefined when absent or unreadable. */
function retryAfterMs(
  retryAfter: string | string[] | undefined,
  nowMs: number,
): number | undefined {
  if (typeof retryAfter !== "string" || retryAfter.trim() === "") return undefined;
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
