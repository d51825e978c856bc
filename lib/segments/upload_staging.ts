/**
 * Streamed member uploads: a byte stream of one user id per line (plain text or NDJSON) is
 * validated line by line and staged in a Redis set in batches, holding at most one line and one
 * batch in memory.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { ValidationFailed } from "../errors.ts";
import { UserId } from "./schemas.ts";

/** Streamed upload formats. */
export type StreamFormat = "text" | "ndjson";

/** A streamed line longer than this (bytes before a newline) is rejected. */
const MAX_LINE = 16 * 1024;
/** Crash-safety TTL of an upload's staging set. */
const STAGING_TTL_MS = 24 * 3600_000;

/**
 * Validates every line of `body` and SADDs the ids to `staging` in batches of `batch`, keeping
 * the set's TTL fresh. The caller owns `staging` and drops it when this throws.
 * @throws {ValidationFailed} naming the first bad line
 */
export async function stageUpload(
  redis: Redis,
  staging: string,
  body: ReadableStream<Uint8Array>,
  opts: { format: StreamFormat; batch: number },
): Promise<void> {
  let ids: string[] = [];
  const flush = async () => {
    if (!ids.length) return;
    const p = redis.pipeline();
    p.sadd(staging, ids[0], ...ids.slice(1));
    p.pexpire(staging, STAGING_TTL_MS);
    await p.exec();
    ids = [];
  };
  for await (const [lineNo, line] of lines(body)) {
    const id = parseLine(line, lineNo, opts.format);
    if (id === null) continue;
    ids.push(id);
    if (ids.length >= opts.batch) await flush();
  }
  await flush();
}

/** Parses one streamed line into a user id; null for a blank line. @throws {ValidationFailed} */
export function parseLine(line: string, lineNo: number, format: StreamFormat): string | null {
  const text = line.trim();
  if (text === "") return null;
  let id: unknown = text;
  if (format === "ndjson") {
    try {
      const value = JSON.parse(text);
      id = typeof value === "object" && value !== null && !Array.isArray(value) &&
          Object.keys(value).length === 1 && "userId" in value
        ? value.userId
        : value;
    } catch {
      throw badLine(lineNo, "not valid JSON");
    }
    if (typeof id !== "string") {
      throw badLine(lineNo, 'expected a JSON string or {"userId": "…"}');
    }
  }
  const checked = UserId.safeParse(id);
  if (!checked.success) throw badLine(lineNo, "user id must be 1–128 characters");
  return checked.data;
}

function badLine(lineNo: number, why: string): ValidationFailed {
  return new ValidationFailed(`line ${lineNo}: ${why}`, [{ line: lineNo, message: why }]);
}

/** Splits a byte stream into numbered lines without holding more than one line. */
export async function* lines(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<[number, string]> {
  const decoder = new TextDecoder();
  let rest = "";
  let lineNo = 0;
  for await (const chunk of body) {
    rest += decoder.decode(chunk, { stream: true });
    let start = 0;
    let nl: number;
    while ((nl = rest.indexOf("\n", start)) !== -1) {
      yield [++lineNo, rest.slice(start, nl)];
      start = nl + 1;
    }
    rest = rest.slice(start);
    if (rest.length > MAX_LINE) throw badLine(lineNo + 1, `line longer than ${MAX_LINE} bytes`);
  }
  rest += decoder.decode();
  if (rest !== "") yield [++lineNo, rest];
}
