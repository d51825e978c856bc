/**
 * The test-session store: short-lived codes that a test device binds itself to by scanning a QR
 * code, so a marketer can push a preview to exactly those devices.
 *
 * - A session lives `ttlMs` (10 minutes) as a Redis hash with that TTL.
 * - A tombstone outlives it by `tombstoneMs` (24 hours), so an expired code answers
 *   {@linkcode TestSessionExpired} (410) and a never-issued one {@linkcode TestSessionNotFound}.
 * - Every key carries the app's hash tag: a code is only visible to the app that created it.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { Conflict, Gone, NotFound } from "../errors.ts";
import { deepLinkFor, generateCode } from "./code.ts";
import { renderQrSvg } from "./qr.ts";
import { testSessionKeys } from "./_keys.ts";
import type {
  CreatedTestSessionData,
  PreviewResultData,
  PreviewSendInput,
  TestDeviceData,
  TestSessionViewData,
} from "./schemas.ts";
import bindLua from "./scripts/bind.lua" with { type: "text" };

/** Thrown when a code was never issued for this app (or its tombstone is gone too). */
export class TestSessionNotFound extends NotFound {
  override name = "TestSessionNotFound";
  constructor() {
    super("test session not found");
  }
}

/** Thrown when a code existed but has expired. */
export class TestSessionExpired extends Gone {
  override name = "TestSessionExpired";
  constructor() {
    super("test session has expired; create a new one");
  }
}

/** An installation that pushes no longer reach cannot serve as a test device. */
export class TestDeviceInactive extends Conflict {
  override name = "TestDeviceInactive";
  constructor(status: string) {
    super(
      `this installation is ${status}, so no push would reach it; register a token again ` +
        "(POST /v1/sdk/installations with its secret) before binding it",
    );
  }
}

/** Thrown when a session already holds `maxDevices` devices. */
export class TestSessionFull extends Conflict {
  override name = "TestSessionFull";
  constructor(max: number) {
    super(`a test session binds at most ${max} devices`);
  }
}

/** Thrown when the app has no `urlScheme`, so no deep link can be built. */
export class UrlSchemeMissing extends Conflict {
  override name = "UrlSchemeMissing";
  constructor() {
    super(
      "the app has no urlScheme, so a test-session deep link cannot be built; " +
        'set one with PATCH /v1/apps/:appId {"urlScheme": "myapp"}',
    );
  }
}

/** The part of an app a test session needs. */
export interface TestSessionApp {
  appId: string;
  urlScheme: string | null;
}

/** The part of an installation a test session shows and sends to. */
export interface TestInstallation {
  installationId: string;
  environment: "production" | "development";
  /** `active`, or why pushes no longer reach it (`deleted`, `unregistered`…). */
  status?: string;
  attributes?: Record<string, unknown> | null;
}

/** A live session as stored. */
export interface TestSession {
  appId: string;
  code: string;
  /** Epoch ms. */
  expiresAt: number;
  /** Bound installation ids, in binding order. */
  installationIds: string[];
}

/** Options for {@linkcode createTestSessions}. */
export interface TestSessionsOptions {
  redis: Redis;
  /** Session lifetime in ms. Default: `600_000` (10 minutes). */
  ttlMs?: number;
  /** How long an expired code is remembered as expired (410, not 404), in ms. Default: 24 h. */
  tombstoneMs?: number;
  /** Devices one session may bind. Default: `20`. */
  maxDevices?: number;
  /** Clock, for tests. Default: `Date.now`. */
  now?: () => number;
}

/** The test-session store. */
export type TestSessions = ReturnType<typeof createTestSessions>;

/** Creates the test-session store. */
export function createTestSessions(options: TestSessionsOptions) {
  const { redis } = options;
  const ttlMs = options.ttlMs ?? 600_000;
  const tombstoneMs = Math.max(options.tombstoneMs ?? 86_400_000, ttlMs);
  const maxDevices = options.maxDevices ?? 20;
  const now = options.now ?? Date.now;
  const bind = redis.createScript<number>(bindLua);

  return {
    /**
     * Issues a code for the app, with its deep link and QR code.
     * @throws {UrlSchemeMissing} when the app has no urlScheme.
     */
    async create(app: TestSessionApp): Promise<CreatedTestSessionData> {
      if (!app.urlScheme) throw new UrlSchemeMissing();
      const code = generateCode();
      const createdAt = now();
      const expiresAt = createdAt + ttlMs;
      const deepLink = deepLinkFor(app.urlScheme, code);
      const qrSvg = await renderQrSvg(deepLink);
      const tx = redis.multi();
      tx.hset(testSessionKeys.session(app.appId, code), {
        createdAt: String(createdAt),
        expiresAt: String(expiresAt),
      });
      tx.pexpire(testSessionKeys.session(app.appId, code), ttlMs);
      tx.set(testSessionKeys.tombstone(app.appId, code), String(expiresAt), { px: tombstoneMs });
      await tx.exec();
      return { code, deepLink, qrSvg, expiresAt: new Date(expiresAt).toISOString() };
    },

    /**
     * Binds an installation (already authenticated by the caller) to the app's session.
     * Binding twice is a no-op.
     * @throws {TestSessionNotFound} {TestSessionExpired} {TestSessionFull}
     */
    async bind(
      appId: string,
      code: string,
      installationId: string,
      lookup?: InstallationLookup,
    ): Promise<TestSession> {
      const installation = await lookup?.(appId, installationId);
      if (installation?.status && installation.status !== "active") {
        throw new TestDeviceInactive(installation.status);
      }
      const result = await bind.exec(
        [testSessionKeys.session(appId, code), testSessionKeys.tombstone(appId, code)],
        [installationId, String(now()), String(maxDevices)],
      );
      if (result === 0) throw new TestSessionNotFound();
      if (result === -1) throw new TestSessionExpired();
      if (result === -2) throw new TestSessionFull(maxDevices);
      return await this.get(appId, code);
    },

    /** Reads a live session. @throws {TestSessionNotFound} {TestSessionExpired} */
    async get(appId: string, code: string): Promise<TestSession> {
      const raw = await redis.hgetall<Record<string, string>>(
        testSessionKeys.session(appId, code),
      );
      const expiresAt = raw?.expiresAt ? Number(raw.expiresAt) : null;
      if (expiresAt === null) {
        const tombstone = await redis.exists(testSessionKeys.tombstone(appId, code));
        throw tombstone ? new TestSessionExpired() : new TestSessionNotFound();
      }
      if (now() >= expiresAt) throw new TestSessionExpired();
      const installationIds = Object.entries(raw!)
        .filter(([field]) => field.startsWith("dev:"))
        .sort(([, a], [, b]) => Number(a) - Number(b))
        .map(([field]) => field.slice(4));
      return { appId, code, expiresAt, installationIds };
    },

    /**
     * The session with its devices as `GET …/test-sessions/:code` shows them. Installations that
     * `lookup` no longer finds (deleted since binding) are left out.
     * @throws {TestSessionNotFound} {TestSessionExpired}
     */
    async describe(
      appId: string,
      code: string,
      lookup: InstallationLookup,
    ): Promise<TestSessionViewData> {
      const session = await this.get(appId, code);
      const installations = await lookupAll(appId, session.installationIds, lookup);
      return {
        code,
        expiresAt: new Date(session.expiresAt).toISOString(),
        devices: installations.map(toDevice),
      };
    },

    /**
     * Pushes a preview to every device bound to the session, now, and returns APNs' answer per
     * device. Each device is addressed in its own environment (development builds included).
     * @throws {TestSessionNotFound} {TestSessionExpired}
     */
    async preview(
      appId: string,
      code: string,
      input: PreviewSendInput,
      send: PreviewSender,
    ): Promise<PreviewResultData[]> {
      const session = await this.get(appId, code);
      if (session.installationIds.length === 0) return [];
      return await send(appId, session.installationIds, input);
    },
  };
}

/**
 * Reads one installation of an app; resolves `null` (or throws a `NotFound`) when it does not
 * exist.
 */
export type InstallationLookup = (
  appId: string,
  installationId: string,
) => Promise<TestInstallation | null>;

/** Sends a preview to installations of an app and returns one result per installation. */
export type PreviewSender = (
  appId: string,
  installationIds: string[],
  input: PreviewSendInput,
) => Promise<PreviewResultData[]>;

async function lookupAll(
  appId: string,
  ids: string[],
  lookup: InstallationLookup,
): Promise<TestInstallation[]> {
  const found = await Promise.all(ids.map(async (id) => {
    try {
      return await lookup(appId, id);
    } catch (error) {
      if (error instanceof NotFound) return null;
      throw error;
    }
  }));
  return found.filter((inst): inst is TestInstallation => inst !== null);
}

function toDevice(inst: TestInstallation): TestDeviceData {
  const attribute = (key: string) => {
    const value = inst.attributes?.[key];
    return typeof value === "string" ? value : null;
  };
  return {
    installationId: inst.installationId,
    deviceModel: attribute("deviceModel"),
    osVersion: attribute("osVersion"),
    environment: inst.environment,
  };
}
