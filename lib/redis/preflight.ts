/**
 * One PING at start, so a Redis that will never answer (a refused credential, a server that is
 * gone) is named in one sentence instead of surfacing as a 500 or "retry shortly" on every call.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { Unavailable } from "../errors.ts";
import type { RedisTarget } from "./client.ts";

/** What a start-time PING found. */
export type PreflightResult =
  | { ok: true }
  /** Redis answers but refuses us: retrying cannot help. */
  | { ok: false; kind: "refused"; message: string }
  /** Nothing answered within the requester's deadline. */
  | { ok: false; kind: "unreachable"; message: string };

/** Where a target came from, so the message names what the operator set. */
export interface PreflightSource {
  /** The variable or file holding the address, e.g. `UPSTASH_REDIS_REST_URL`. */
  address: string;
  /** The variable holding the credential, e.g. `UPSTASH_REDIS_REST_TOKEN`. */
  credential?: string;
}

/** Redis' answers that mean "not now" rather than "never". */
const TRANSIENT = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * PINGs `redis` and words any failure for an operator: what is wrong, which variable to fix.
 * Never throws.
 */
export async function preflightRedis(
  redis: Redis,
  target: RedisTarget,
  source: PreflightSource,
): Promise<PreflightResult> {
  try {
    await redis.ping();
    return { ok: true };
  } catch (error) {
    const text = describe(error);
    const where = target.kind === "rest"
      ? target.url
      : target.kind === "cluster"
      ? target.nodes.map(redactUrl).join(",")
      : redactUrl(target.url);
    if (error instanceof Unavailable) {
      return {
        ok: false,
        kind: "unreachable",
        message: `${source.address} (${where}) does not answer (${text}): check that the ` +
          "Redis server is running and reachable from here.",
      };
    }
    if (TRANSIENT.test(text)) return { ok: true };
    const credential = source.credential ??
      (target.kind === "rest" ? "UPSTASH_REDIS_REST_TOKEN" : source.address);
    const fix = target.kind === "rest"
      ? `set ${credential} to the REST token of that database (for a \`deno task redis-http\` ` +
        "gateway, its REDIS_HTTP_TOKEN)."
      : `put the password in ${credential} (redis://:password@host:port, or ` +
        "redis://user:password@host:port with ACLs).";
    return {
      ok: false,
      kind: "refused",
      message: `${where} refused ${credential} (${text}): ${fix}`,
    };
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause;
  const message = error instanceof Unavailable && cause instanceof Error
    ? cause.message
    : (error as Error)?.message ?? String(error);
  // The stock client appends the command; the operator needs only Redis' words.
  return message.split("\n")[0].replace(/, command was: .*$/, "").slice(0, 200);
}

/** `redis://user:secret@host:port` → `redis://user:***@host:port`. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)([^:@/]*):([^@/]*)@/, "$1$2:***@");
}
