/**
 * Console sessions in Redis: a random id in an HttpOnly cookie, only its SHA-256 stored, an
 * idle timeout renewed on use and an absolute lifetime. Each session remembers the hash of the
 * credential it was opened with, so rotating a server key (or the admin token) ends the
 * sessions opened with the old one.
 *
 * ```ts
 * const sessions = createConsoleSessions({ redis });
 * const { id } = await sessions.create({ scope: "app", appId, credentialHash });
 * const session = await sessions.read(id); // null once expired or ended
 * ```
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { z } from "zod";
import { randomSecret, sha256Hex } from "../auth/secrets.ts";
import { consoleKeys } from "./_keys.ts";

/** Who a session acts as: the admin (every app) or one app's server key. */
export type ConsolePrincipal =
  | { scope: "admin"; appId: null; credentialHash: string }
  | { scope: "app"; appId: string; credentialHash: string };

/** A live session. */
export type ConsoleSession = ConsolePrincipal & {
  /** The per-session token every console form and fetch carries (CSRF). */
  csrf: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms after which the session ends whatever its use. */
  endsAt: number;
};

const Stored = z.object({
  scope: z.enum(["admin", "app"]),
  appId: z.string().nullable(),
  credentialHash: z.string(),
  csrf: z.string(),
  createdAt: z.number(),
  endsAt: z.number(),
});

/** Options of {@linkcode createConsoleSessions}. */
export interface ConsoleSessionsOptions {
  redis: Redis;
  /** A session unused this long ends, ms. Default: 2 hours. */
  idleMs?: number;
  /** A session ends this long after sign-in whatever its use, ms. Default: 12 hours. */
  maxAgeMs?: number;
  /** Clock. Default: `Date.now`. */
  now?: () => number;
}

/** The console session store. */
export type ConsoleSessions = ReturnType<typeof createConsoleSessions>;

/** Creates the console session store. */
export function createConsoleSessions(options: ConsoleSessionsOptions) {
  const { redis } = options;
  const idleMs = options.idleMs ?? 2 * 3_600_000;
  const maxAgeMs = options.maxAgeMs ?? 12 * 3_600_000;
  const now = options.now ?? Date.now;

  const keyOf = async (id: string) => consoleKeys.session(await sha256Hex(id));

  return {
    /** The idle timeout, ms (the cookie's Max-Age follows it). */
    idleMs,

    /** Opens a session; `id` goes into the cookie and is never stored. */
    async create(principal: ConsolePrincipal): Promise<{ id: string; session: ConsoleSession }> {
      const id = randomSecret(32);
      const createdAt = now();
      const session: ConsoleSession = {
        ...principal,
        csrf: randomSecret(24),
        createdAt,
        endsAt: createdAt + maxAgeMs,
      };
      await redis.set(await keyOf(id), JSON.stringify(session), { px: idleMs });
      return { id, session };
    },

    /** Reads a session and renews its idle timeout; null when unknown, expired or malformed. */
    async read(id: string): Promise<ConsoleSession | null> {
      if (!/^[A-Za-z0-9_-]{20,100}$/.test(id)) return null;
      const key = await keyOf(id);
      const raw = await redis.get<string>(key);
      if (raw === null || raw === undefined) return null;
      let parsed;
      try {
        parsed = Stored.safeParse(typeof raw === "string" ? JSON.parse(raw) : raw);
      } catch {
        return null;
      }
      if (!parsed.success) return null;
      const session = parsed.data as ConsoleSession;
      const left = session.endsAt - now();
      if (left <= 0) {
        await redis.del(key);
        return null;
      }
      await redis.pexpire(key, Math.min(idleMs, left));
      return session;
    },

    /** Ends a session server-side (sign-out). Unknown ids are ignored. */
    async destroy(id: string): Promise<void> {
      if (!/^[A-Za-z0-9_-]{20,100}$/.test(id)) return;
      await redis.del(await keyOf(id));
    },
  };
}
