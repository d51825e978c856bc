/**
 * The part of an installation a push needs (token, environment and what decides whether it may
 * be sent to), read for a whole chunk of recipients in one round trip. The deliverer reads every
 * recipient of a campaign: HMGET of these fields spares Redis the full hash and the worker the
 * attributes, user and times it would decode and drop.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { SENDABLE_FIELDS } from "./installation_codec.ts";
import { type Installation, parseInstallation } from "./installation.ts";
import { registryKeys } from "./_keys.ts";

/** What a push needs of an installation. */
export type SendableInstallation = Pick<
  Installation,
  | "installationId"
  | "token"
  | "environment"
  | "status"
  | "pushAuthorization"
  | "stale"
  | "registeredAt"
>;

/**
 * The sendable part of many installations, in the order of `ids` (null = unknown). A hash the
 * codec cannot read from these fields alone (one `deno task migrate` has not rewritten yet) is
 * read whole instead, so nobody is skipped for the layout they are stored in.
 */
export async function readSendable(
  redis: Redis,
  appId: string,
  ids: readonly string[],
): Promise<(SendableInstallation | null)[]> {
  if (ids.length === 0) return [];
  const pipe = redis.pipeline();
  for (const id of ids) pipe.hmget(registryKeys.installation(appId, id), ...SENDABLE_FIELDS);
  const rows = await pipe.exec<(Record<string, unknown> | null)[]>();
  const out: (SendableInstallation | null)[] = new Array(ids.length).fill(null);
  const whole: number[] = [];
  rows.forEach((row, i) => {
    // The secret hash is always stored: without it the hash is missing or in layout v1.
    if (!row || row[SENDABLE_FIELDS[0]] == null) whole.push(i);
    else out[i] = sendable(parseInstallation(appId, present(row), ids[i]));
  });
  if (whole.length > 0) {
    const again = redis.pipeline();
    for (const i of whole) again.hgetall(registryKeys.installation(appId, ids[i]));
    const hashes = await again.exec<(Record<string, unknown> | null)[]>();
    whole.forEach((i, j) => out[i] = sendable(parseInstallation(appId, hashes[j], ids[i])));
  }
  return out;
}

function present(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(row)) if (value != null) out[field] = value;
  return out;
}

function sendable(inst: Installation | null): SendableInstallation | null {
  if (!inst) return null;
  const { installationId, token, environment, status, pushAuthorization, stale, registeredAt } =
    inst;
  return { installationId, token, environment, status, pushAuthorization, stale, registeredAt };
}
