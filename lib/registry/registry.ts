/**
 * The token registry: installations, their APNs tokens, user bindings and the app's reachable
 * sets. Every state change is one Lua script, so one atomic step and one Redis round trip.
 * This module holds the SDK-facing writes (register, update, remove, user binding, erasure) and
 * assembles the registry from them, the installation reads (reads.ts), the app-wide index reads
 * (app_indexes.ts) and the status marks from APNs feedback and the sync (marks.ts).
 *
 * ```ts
 * const registry = createRegistry({ redis });
 * const result = await registry.register(appId, { token, environment: "production" });
 * ```
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { hash } from "node:crypto";
import { randomId, randomSecret, sha256HexSync } from "../auth/secrets.ts";
import { safeEqual } from "../auth/secrets.ts";
import { rateLimitedError, rateLimitSpec, type SdkRateLimits } from "../ratelimit/mod.ts";
import {
  type Installation,
  installationView,
  isReachable,
  parseInstallation,
} from "./installation.ts";
import registerLua from "./scripts/register.lua" with { type: "text" };
import updateLua from "./scripts/update.lua" with { type: "text" };
import deleteLua from "./scripts/delete.lua" with { type: "text" };
import bindUserLua from "./scripts/bind_user.lua" with { type: "text" };
import unbindUserLua from "./scripts/unbind_user.lua" with { type: "text" };
import eraseUserLua from "./scripts/erase_user.lua" with { type: "text" };
import { createAppIndexes } from "./app_indexes.ts";
import { createStatusMarks } from "./marks.ts";
import { createInstallationReads } from "./reads.ts";
import { registryKeys } from "./_keys.ts";
import { createRunner, type Reply } from "./_script.ts";
import { InstallationNotFound, InvalidInstallationSecret, UserNotFound } from "./errors.ts";
import { ValidationFailed } from "../errors.ts";
import {
  type AttributeChanges,
  type AttributeMap,
  type EnvironmentName,
  type InstallationStatusValue,
  MAX_ATTRIBUTES,
  type PushAuthorizationValue,
} from "./schemas.ts";

export { type Installation, installationView, isReachable, parseInstallation };

/** Input of {@linkcode Registry.register}: the validated body plus the presented secret. */
export interface RegisterOptions {
  /** The id the SDK holds, if any. */
  installationId?: string;
  /** The installation secret from `Authorization: Bearer`, if any. */
  secret?: string | null;
  /** Lowercase hex APNs token. */
  token: string;
  environment: EnvironmentName;
  /** Binds this user; omitted keeps the current binding. */
  userId?: string;
  /** Omitted: `authorized` for a new installation, unchanged on refresh. */
  pushAuthorization?: PushAuthorizationValue;
  /** Replaces the stored attributes; omitted keeps them. */
  attributes?: AttributeMap;
  /** The client's address scope (`clientScope`), for the rate limit. Default "unknown". */
  client?: string;
}

/** What `register` did. */
export type RegisterResult =
  | {
    created: true;
    installationId: string;
    /** Shown once; only its SHA-256 is stored. */
    installationSecret: string;
    /** `"restored"` when an id was presented but not accepted (unknown, or no valid secret). */
    reason?: "restored";
  }
  | {
    created: false;
    installationId: string;
    /** Always `active`: a registration (re)activates. */
    status: InstallationStatusValue;
  };

/** Input of {@linkcode Registry.update}. */
export interface UpdateOptions {
  secret: string | null | undefined;
  token?: string;
  environment?: EnvironmentName;
  pushAuthorization?: PushAuthorizationValue;
  /** Merged into the stored attributes; `null` removes a key. */
  attributes?: AttributeChanges;
  userId?: string;
  /** The client's address scope, for the rate limit. Default "unknown". */
  client?: string;
}

/** How an SDK call on an existing installation proves itself. */
export interface SdkCallOptions {
  /** The presented installation secret. */
  secret: string | null | undefined;
  /** The client's address scope, for the rate limit. Default "unknown". */
  client?: string;
}

/** Options for {@linkcode createRegistry}. */
export interface RegistryOptions {
  /** The domain Redis (automatic deserialization off). */
  redis: Redis;
  /** Clock in epoch ms, for tests. Default: `Date.now`. */
  now?: () => number;
  /**
   * SDK rate limits, taken inside the SDK scripts (no extra round trip). Default: none;
   * `createServices` passes the configured ones. Over a limit the call throws `RateLimited`.
   */
  rateLimits?: SdkRateLimits | null;
  /**
   * Draws a new installation id. Default: `in_` + 64 random bits (16 hex digits), short because
   * every index and segment entry repeats it; a draw that exists already is drawn again.
   */
  newInstallationId?: () => string;
}

/** The registry returned by {@linkcode createRegistry}. */
export type Registry = ReturnType<typeof createRegistry>;

/**
 * An installation secret as layout v9 stores it: the first 128 bits of its SHA-256, base64url
 * (22 characters; the secret itself has 256 random bits). The scripts compare this form.
 */
export function storedSecretHash(secret: string): string {
  // node:crypto's hex digest is a string straight from Rust (~1 µs); asking it for a Buffer and
  // encoding a slice of it cost ~4 µs, mostly in the Buffer wrappers. The 32 hex digits of the
  // first 128 bits become base64url through a table: 3 digits (12 bits) per 2 characters.
  const hex = hash("sha256", secret, "hex");
  let out = "";
  for (let i = 0; i < 30; i += 3) {
    out +=
      BASE64URL_PAIRS[(hexValue(hex, i) << 8) | (hexValue(hex, i + 1) << 4) | hexValue(hex, i + 2)];
  }
  // The last 8 bits: 6 in one character, 2 (padded with zeros) in the next.
  return out + BASE64URL_PAIRS[(hexValue(hex, 30) << 8) | (hexValue(hex, 31) << 4)];
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Every 12-bit value as its two base64url characters. */
const BASE64URL_PAIRS = Array.from(
  { length: 4096 },
  (_, v) => BASE64URL[v >> 6] + BASE64URL[v & 63],
);

/** The value of the lowercase hex digit at `at`. */
function hexValue(hex: string, at: number): number {
  const c = hex.charCodeAt(at);
  return c <= 57 ? c - 48 : c - 87;
}

function fromFlat(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/**
 * Creates the registry over the domain Redis. Scripts are loaded lazily by `Script.exec`
 * (EVALSHA, falling back to EVAL once per Redis).
 */
export function createRegistry(options: RegistryOptions) {
  const { redis } = options;
  const now = options.now ?? Date.now;
  const limits = rateLimitSpec(options.rateLimits ?? null);
  const newId = options.newInstallationId ?? (() => `in_${randomId(8)}`);
  const run = createRunner(redis, now, {
    register: registerLua,
    update: updateLua,
    remove: deleteLua,
    bindUser: bindUserLua,
    unbindUser: unbindUserLua,
    eraseUser: eraseUserLua,
  });
  const reads = createInstallationReads(redis);

  /** Maps an SDK script's answer; throws for a missing installation or a bad secret. */
  function changed(appId: string, id: string, reply: Reply): Installation {
    if (reply[0] === "rate_limited") throw rateLimitedError(reply[1]);
    if (reply[0] === "not_found") throw new InstallationNotFound();
    if (reply[0] === "unauthorized") throw new InvalidInstallationSecret();
    return parseInstallation(appId, fromFlat(reply[2]), id)!;
  }

  /** The SHA-256 of a presented secret, or "" for none (the script then refuses). */
  function secretHash(secret: string | null | undefined): string {
    return secret ? storedSecretHash(secret) : "";
  }

  /**
   * One run of the register script, with a fresh id in case it creates an installation.
   */
  function registerOnce(appId: string, input: RegisterOptions, newSecret: string) {
    return run("register", appId, [
      input.installationId ?? "",
      input.installationId ? secretHash(input.secret) : "",
      newId(),
      storedSecretHash(newSecret),
      input.token,
      input.environment,
      input.userId !== undefined ? "1" : "0",
      input.userId ?? "",
      input.pushAuthorization ?? "",
      input.attributes ? JSON.stringify(input.attributes) : "",
      limits,
      input.client ?? "unknown",
    ]);
  }

  return {
    /**
     * Registers a new installation or refreshes the one named by `installationId` when
     * `secret` matches. A presented id without a valid secret gets a fresh installation
     * (`reason: "restored"`) and the named one is untouched. One round trip.
     */
    async register(appId: string, input: RegisterOptions): Promise<RegisterResult> {
      const newSecret = randomSecret(32);
      let reply: Reply;
      let attempts = 0;
      do {
        reply = await registerOnce(appId, input, newSecret);
      } while (reply[0] === "id_taken" && ++attempts < 4);
      if (reply[0] === "id_taken") throw new Error("could not draw an unused installation id");
      if (reply[0] === "rate_limited") throw rateLimitedError(reply[1]);
      const installationId = String(reply[2]);
      if (reply[0] === "created") {
        return {
          created: true,
          installationId,
          installationSecret: newSecret,
          ...(reply[1] === "restored" ? { reason: "restored" as const } : {}),
        };
      }
      return { created: false, installationId, status: "active" };
    },

    /**
     * Changes token, environment, permission, attributes (merged) or user of an installation.
     * @throws {InstallationNotFound} @throws {InvalidInstallationSecret} @throws {RateLimited}
     * @throws {ValidationFailed} when the merged attributes would exceed 50 keys
     */
    async update(appId: string, id: string, input: UpdateOptions): Promise<Installation> {
      const reply = await run("update", appId, [
        id,
        secretHash(input.secret),
        input.token ?? "",
        input.environment ?? "",
        input.pushAuthorization ?? "",
        input.attributes ? JSON.stringify(input.attributes) : "",
        input.userId !== undefined ? "1" : "0",
        input.userId ?? "",
        String(MAX_ATTRIBUTES),
        limits,
        input.client ?? "unknown",
      ]);
      if (reply[0] === "too_many_attributes") {
        throw new ValidationFailed("invalid body", [{
          path: "attributes",
          message: `at most ${MAX_ATTRIBUTES} attributes once merged (would be ${reply[1]})`,
          code: "too_big",
        }]);
      }
      return changed(appId, id, reply);
    },

    /**
     * Marks the installation `deleted` (the app gave up push): token and user unbound.
     * @throws {InstallationNotFound} @throws {InvalidInstallationSecret} @throws {RateLimited}
     */
    async remove(appId: string, id: string, input: SdkCallOptions) {
      return changed(
        appId,
        id,
        await run("remove", appId, [
          id,
          secretHash(input.secret),
          limits,
          input.client ?? "unknown",
        ]),
      );
    },

    /**
     * Binds a user (the caller has checked any user signature). A user keeps at most 100
     * installations; the least recently seen one is unbound.
     * @throws {InstallationNotFound} @throws {InvalidInstallationSecret} @throws {RateLimited}
     */
    async bindUser(
      appId: string,
      id: string,
      input: SdkCallOptions & { userId: string },
    ): Promise<Installation> {
      const hash = secretHash(input.secret);
      const client = input.client ?? "unknown";
      return changed(
        appId,
        id,
        await run("bindUser", appId, [id, hash, input.userId, limits, client]),
      );
    },

    /**
     * Unbinds the user (logout); the installation stays reachable, anonymous.
     * @throws {InstallationNotFound} @throws {InvalidInstallationSecret} @throws {RateLimited}
     */
    async unbindUser(
      appId: string,
      id: string,
      input: SdkCallOptions,
    ): Promise<Installation> {
      const args = [id, secretHash(input.secret), limits, input.client ?? "unknown"];
      return changed(appId, id, await run("unbindUser", appId, args));
    },

    // get, getMany, getSendable and userInstallations (reads.ts)
    ...reads,

    /**
     * Erases a user (a GDPR-style erasure): every installation bound to them is deleted with
     * its indexes and leaves every segment's reach sets, and the user id leaves every segment's
     * uploaded members (so `users` counts drop) and the user → segments index. A later member
     * upload naming the user adds them again. Returns how many installations were erased (0
     * for a user known only as a segment member).
     * @throws {UserNotFound} when no installation is bound to the user and no segment holds them.
     */
    async eraseUser(appId: string, userId: string): Promise<number> {
      const reply = await run("eraseUser", appId, [userId]);
      if (reply[0] === "not_found") throw new UserNotFound();
      return Number(reply[1]);
    },

    /**
     * True when `secret` is the installation's secret. Constant-time (`safeEqual`); for
     * callers outside the scripts, e.g. test-session binding.
     */
    async verifySecret(appId: string, id: string, secret: string): Promise<boolean> {
      // Layout v9 keeps 128 bits in base64url (`s`), v2 as 32 hex digits, v1 all 64 (`secretHash`).
      const values = await redis.hmget(registryKeys.installation(appId, id), "s", "secretHash");
      const [short, long] = Array.isArray(values) ? values : [values?.s, values?.secretHash];
      const stored = String(short ?? long ?? "");
      if (stored.length === 22) return await safeEqual(storedSecretHash(secret), stored);
      if (stored.length < 32) return false;
      return await safeEqual(sha256HexSync(secret).slice(0, stored.length), stored);
    },

    // markUnregistered, markBadToken, correctEnvironment and markStale (marks.ts)
    ...createStatusMarks(redis, now),

    /** See {@linkcode isReachable}. */
    isReachable,

    // reachableCount, scanReachable, scanSeen and summary (app_indexes.ts)
    ...createAppIndexes(redis, reads.getMany),
  };
}
