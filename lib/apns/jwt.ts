/**
 * ES256 provider tokens for APNs token auth, signed with WebCrypto, and the token sources that
 * hand them out: one token per (team, key) shared by every process through Redis, or an
 * in-memory source for the one-shot push CLI.
 *
 * Timing rules (Apple's): a token is refreshed at 50 minutes, never used past 55, and never
 * minted more often than every 20 minutes (APNs answers `TooManyProviderTokenUpdates`).
 *
 * @module
 */
import { P8_NOT_P256, p8Problem } from "./p8.ts";
import { withLock } from "../redis/lock.ts";
import type { Redis } from "@upstash/redis";
import { ValidationFailed } from "../errors.ts";
import { apnsKeys } from "./_keys.ts";
import { ApnsCredentialError } from "./credential_error.ts";

const MINUTE = 60_000;

/** A token-auth credential: the team id, the key id and the .p8 key (PKCS#8 PEM). */
export interface TokenCredential {
  teamId: string;
  keyId: string;
  privateKeyPem: string;
}

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function pemBody(pem: string, label: string): Uint8Array {
  const match = pem.match(new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`));
  if (!match) throw new Error(`no ${label} block`);
  return Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

/**
 * Imports an APNs .p8 key (PKCS#8 PEM, P-256) for signing.
 *
 * @throws {ValidationFailed} when the PEM is not a P-256 PKCS#8 private key; the message is
 * `<field>: <what is wrong and how to fix it>` (field "APNs key" unless given), and the details
 * name the field.
 */
export async function importApnsKey(pem: string, field = "APNs key"): Promise<CryptoKey> {
  const refuse = (problem: string) =>
    new ValidationFailed(`${field}: ${problem}`, [{ path: field, message: problem }]);
  const problem = p8Problem(pem);
  if (problem) throw refuse(problem);
  let der: Uint8Array;
  try {
    der = pemBody(pem, "PRIVATE KEY");
  } catch {
    throw refuse(p8Problem("")!);
  }
  try {
    return await crypto.subtle.importKey(
      "pkcs8",
      der as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["sign"],
    );
  } catch {
    throw refuse(P8_NOT_P256);
  }
}

/**
 * Signs a provider token `{alg:"ES256",kid}.{iss,iat}`. WebCrypto's ECDSA signature is already
 * the raw r||s (64 bytes) that JWS wants, so no DER conversion is needed.
 */
export async function signProviderToken(
  key: CryptoKey,
  claims: { teamId: string; keyId: string; iat: number },
): Promise<string> {
  const header = base64url(encoder.encode(JSON.stringify({ alg: "ES256", kid: claims.keyId })));
  const body = base64url(encoder.encode(JSON.stringify({ iss: claims.teamId, iat: claims.iat })));
  const input = `${header}.${body}`;
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    encoder.encode(input),
  );
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/** Hands out the current provider token for one (team, key). */
export interface ProviderTokenSource {
  /** The token to use now: cached, or refreshed when it is 50 minutes old. */
  current(): Promise<string>;
  /**
   * The token {@linkcode ProviderTokenSource.current} would give now when it needs no refresh,
   * without a promise (the relay asks once per notification); undefined when it does.
   */
  cached(): string | undefined;
  /**
   * Called after APNs answered `ExpiredProviderToken` for `staleToken`. Returns a newer token:
   * one another request already got, or a new one when the shared token is ≥ 20 minutes old.
   *
   * @throws {ApnsCredentialError} (reason `ClockSkew`) when the shared token is younger than
   *   20 minutes: APNs calling it expired means our clock or APNs' is off; nothing is minted.
   */
  refreshAfterExpired(staleToken: string): Promise<string>;
  /** Number of tokens this instance has minted (for tests and metrics). */
  readonly mints: number;
}

/** Options of the token sources. */
export interface TokenSourceOptions {
  /** Clock in epoch ms; default `Date.now`. */
  now?: () => number;
  /** Age at which a token is refreshed; default 50 minutes. */
  refreshAfterMs?: number;
  /** Age past which a token is never used; default 55 minutes. */
  maxAgeMs?: number;
  /** Minimum age before an `ExpiredProviderToken` refresh may mint; default 20 minutes. */
  minMintIntervalMs?: number;
  /** Mint lock lifetime in Redis; default 5000 ms. */
  lockTtlMs?: number;
  /** How long a process waits for another's mint before giving up; default 5000 ms. */
  waitTimeoutMs?: number;
}

interface Entry {
  token: string;
  iat: number;
}

/** Where the shared token lives: Redis for the relay, memory for the CLI. */
interface TokenStore {
  read(): Promise<Entry | null>;
  write(entry: Entry, ttlMs: number): Promise<void>;
  /** Runs `fn` holding the mint lock; returns `undefined` when someone else holds it. */
  withLock<T>(fn: () => Promise<T>): Promise<{ value: T } | undefined>;
}

function redisStore(redis: Redis, cred: TokenCredential, lockTtlMs: number): TokenStore {
  const key = apnsKeys.jwt(cred.teamId, cred.keyId);
  const lockKey = apnsKeys.jwtLock(cred.teamId, cred.keyId);
  return {
    async read() {
      const raw = await redis.get<string>(key);
      if (!raw) return null;
      try {
        const entry = JSON.parse(raw) as Entry;
        return typeof entry.token === "string" && typeof entry.iat === "number" ? entry : null;
      } catch {
        return null;
      }
    },
    async write(entry, ttlMs) {
      await redis.set(key, JSON.stringify(entry), { px: Math.max(1, Math.floor(ttlMs)) });
    },
    withLock: (fn) => withLock(redis, lockKey, lockTtlMs, fn),
  };
}

function memoryStore(): TokenStore {
  let entry: Entry | null = null;
  let locked = false;
  return {
    read: () => Promise.resolve(entry),
    write: (next) => {
      entry = next;
      return Promise.resolve();
    },
    async withLock(fn) {
      if (locked) return undefined;
      locked = true;
      try {
        return { value: await fn() };
      } finally {
        locked = false;
      }
    },
  };
}

function createSource(
  store: TokenStore,
  cred: TokenCredential,
  options: TokenSourceOptions,
): ProviderTokenSource {
  const now = options.now ?? Date.now;
  const refreshAfterMs = options.refreshAfterMs ?? 50 * MINUTE;
  const maxAgeMs = options.maxAgeMs ?? 55 * MINUTE;
  const minMintIntervalMs = options.minMintIntervalMs ?? 20 * MINUTE;
  const waitTimeoutMs = options.waitTimeoutMs ?? 5_000;
  let key: Promise<CryptoKey> | undefined;
  let cached: Entry | null = null;
  let mints = 0;
  const inflight = new Map<string, Promise<string>>();

  const age = (entry: Entry) => now() - entry.iat;
  const usable = (entry: Entry | null): entry is Entry => !!entry && age(entry) < maxAgeMs;

  async function mint(): Promise<Entry> {
    key ??= importApnsKey(cred.privateKeyPem);
    const iatMs = Math.floor(now() / 1000) * 1000;
    const token = await signProviderToken(await key, { ...cred, iat: iatMs / 1000 });
    const entry = { token, iat: iatMs };
    await store.write(entry, maxAgeMs - (now() - iatMs));
    mints++;
    return entry;
  }

  /** Returns the shared token unless `stale(entry)` says it must be replaced; mints under lock. */
  async function obtain(stale: (entry: Entry | null) => boolean): Promise<string> {
    const deadline = Date.now() + waitTimeoutMs;
    let pause = 5;
    while (true) {
      const shared = await store.read();
      if (usable(shared) && !stale(shared)) return (cached = shared).token;
      const locked = await store.withLock(async () => {
        // Re-read under the lock: another process may have minted since our read.
        const again = await store.read();
        return usable(again) && !stale(again) ? again : await mint();
      });
      if (locked) return (cached = locked.value).token;
      if (Date.now() > deadline) {
        throw new ApnsCredentialError("TokenUnavailable", "timed out waiting for a provider token");
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 100);
    }
  }

  function once(name: string, fn: () => Promise<string>): Promise<string> {
    let pending = inflight.get(name);
    if (!pending) {
      pending = fn().finally(() => inflight.delete(name));
      inflight.set(name, pending);
    }
    return pending;
  }

  return {
    get mints() {
      return mints;
    },
    cached() {
      return cached && age(cached) < refreshAfterMs ? cached.token : undefined;
    },
    current() {
      if (cached && age(cached) < refreshAfterMs) return Promise.resolve(cached.token);
      return once("current", () => obtain((e) => !e || age(e) >= refreshAfterMs));
    },
    refreshAfterExpired(staleToken) {
      return once(`expired:${staleToken}`, () =>
        obtain((shared) => {
          if (!shared || shared.token !== staleToken) return !shared;
          if (age(shared) < minMintIntervalMs) {
            throw new ApnsCredentialError(
              "ClockSkew",
              `APNs called a ${
                Math.round(age(shared) / 1000)
              }s-old provider token expired; check the server clock (no new token was minted: APNs allows one every 20 minutes)`,
            );
          }
          return true;
        }));
    },
  };
}

/**
 * A token source shared through Redis: every process using the same (team, key) gets the same
 * token, and only the process holding the `SET NX` lock mints.
 */
export function createSharedTokenSource(
  redis: Redis,
  credential: TokenCredential,
  options: TokenSourceOptions = {},
): ProviderTokenSource {
  return createSource(
    redisStore(redis, credential, options.lockTtlMs ?? 5_000),
    credential,
    options,
  );
}

/** A token source for one process only (the push CLI, which runs without Redis). */
export function createMemoryTokenSource(
  credential: TokenCredential,
  options: TokenSourceOptions = {},
): ProviderTokenSource {
  return createSource(memoryStore(), credential, options);
}
