/**
 * The part of an installation a push needs (token, environment and what decides whether it may
 * be sent to), read for a whole chunk of recipients in one call. The deliverer reads every
 * recipient of a campaign: one script call per chunk returns just these fields of every hash,
 * and they are decoded straight into what the push needs, without the attributes, user and
 * times the full reading would build and drop.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import sendableReadLua from "./scripts/sendable_read.lua" with { type: "text" };
import { decodeSendableFields, SENDABLE_FIELDS } from "./installation_codec.ts";
import type { Installation } from "./installation.ts";
import { registryKeys } from "./_keys.ts";

/** What a push needs of an installation. */
export interface SendableInstallation extends
  Pick<
    Installation,
    "installationId" | "token" | "environment" | "status" | "pushAuthorization" | "stale"
  > {
  /** When it last registered, epoch ms (0 = unknown). */
  registeredAtMs: number;
}

/** Reads the sendable part of many installations; see {@linkcode createSendableReader}. */
export type SendableReader = (
  appId: string,
  ids: readonly string[],
) => Promise<(SendableInstallation | null)[]>;

/**
 * A reader of the sendable part of many installations, in the order of `ids` (null = unknown).
 * A hash the codec cannot read from these fields alone (one `deno task migrate` has not
 * rewritten yet) is read whole through `getMany` instead, so nobody is skipped for the layout
 * they are stored in.
 */
export function createSendableReader(
  redis: Redis,
  getMany: (appId: string, ids: readonly string[]) => Promise<(Installation | null)[]>,
): SendableReader {
  const script = redis.createScript<(string | null)[]>(sendableReadLua);
  const fields = SENDABLE_FIELDS.length;
  return async (appId, ids) => {
    if (ids.length === 0) return [];
    const values = await script.exec(
      [registryKeys.prefix(appId)],
      [String(fields), ...SENDABLE_FIELDS, ...ids],
    );
    if (!Array.isArray(values) || values.length !== ids.length * fields) {
      throw new Error(`sendable_read answered ${describe(values)} for ${ids.length} ids`);
    }
    const out: (SendableInstallation | null)[] = new Array(ids.length).fill(null);
    const whole: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const row = decodeSendableFields(values, i * fields);
      if (row === null) {
        whole.push(i);
        continue;
      }
      out[i] = {
        installationId: ids[i],
        token: row.token || null,
        environment: row.environment as Installation["environment"],
        status: row.status as Installation["status"],
        pushAuthorization: row.pushAuthorization as Installation["pushAuthorization"],
        stale: row.stale,
        registeredAtMs: epochMs(row.registeredAt),
      };
    }
    if (whole.length > 0) {
      const installations = await getMany(appId, whole.map((i) => ids[i]));
      whole.forEach((i, j) => out[i] = sendable(installations[j]));
    }
    return out;
  };
}

function epochMs(stored: string): number {
  const n = Number(stored);
  return stored !== "" && Number.isFinite(n) ? Math.trunc(n) : 0;
}

function sendable(inst: Installation | null): SendableInstallation | null {
  if (!inst) return null;
  const { installationId, token, environment, status, pushAuthorization, stale, registeredAt } =
    inst;
  return {
    installationId,
    token,
    environment,
    status,
    pushAuthorization,
    stale,
    registeredAtMs: registeredAt ? Date.parse(registeredAt) : 0,
  };
}

function describe(value: unknown): string {
  return Array.isArray(value) ? `${value.length} values` : typeof value;
}
