/**
 * Builds the real app for route tests: a private redis-server, the real services and the real
 * Hono app, driven through `app.request`.
 *
 * @module
 */
import { createSealedBox, generateMasterKey } from "../../lib/crypto/sealed_box.ts";
import { silentLogger } from "../../lib/observability/logger.ts";
import { createMetrics } from "../../lib/observability/metrics.ts";
import { createServices, type ServiceOptions, type Services } from "../../lib/services.ts";
import { createApp } from "../../routes/mod.ts";
import { startTestRedis, type TestRedis } from "./redis_server.ts";

/** The admin token every harness uses. */
export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** A P-256 key pair as APNs would issue it: PKCS#8 PEM plus the public key. */
export interface TestApnsKey {
  privateKeyPem: string;
  publicKey: CryptoKey;
  teamId: string;
  keyId: string;
}

/** Generates a fresh APNs-style .p8 key. */
export async function generateApnsKey(
  teamId = "TEAM123456",
  keyId = "KEY1234567",
): Promise<TestApnsKey> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const b64 = btoa(String.fromCharCode(...der)).replace(/(.{64})/g, "$1\n");
  return {
    privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`,
    publicKey: pair.publicKey,
    teamId,
    keyId,
  };
}

/** An app created through the admin API, with its secrets. */
export interface TestApp {
  appId: string;
  appKey: string;
  serverKey: string;
  userSigningSecret?: string;
  key: TestApnsKey;
  bundleId: string;
}

/** Options for {@linkcode startHarness}. */
export interface HarnessOptions {
  /** Overrides for the service options (APNs hosts, rate limits, clock…). */
  services?: Partial<ServiceOptions>;
  /** Reuse a running test Redis instead of starting one (the caller stops it). */
  redis?: TestRedis;
  /** Proxies whose `X-Forwarded-For` entries the app believes; default 0. */
  trustedProxyHops?: number;
}

/** A running app over a private Redis. */
export interface Harness {
  app: ReturnType<typeof createApp>;
  services: Services;
  testRedis: TestRedis;
  /** JSON request helper: returns status, parsed body and headers. */
  call(
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string>; raw?: BodyInit },
    // deno-lint-ignore no-explicit-any
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** Creates an app through `POST /v1/apps`. */
  createTestApp(input?: Record<string, unknown>): Promise<TestApp>;
  stop(): Promise<void>;
}

/** Starts a harness. Always `await harness.stop()` in `finally`. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const testRedis = options.redis ?? await startTestRedis();
  const services = createServices({
    redis: testRedis.redis,
    box: await createSealedBox(generateMasterKey()),
    logger: silentLogger,
    metrics: createMetrics(),
    apns: { productionHost: "127.0.0.1:1", developmentHost: "127.0.0.1:1" },
    sdkRateLimit: null,
    appCacheTtlMs: 0,
    staleAfterDays: 270,
    ...options.services,
  });
  const app = createApp({
    ...services,
    adminToken: ADMIN_TOKEN,
    trustedProxyHops: options.trustedProxyHops,
  });
  const call: Harness["call"] = async (method, path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    let body: BodyInit | undefined = init.raw;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await app.request(path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch { /* not JSON */ }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    app,
    services,
    testRedis,
    call,
    async createTestApp(input = {}) {
      const key = await generateApnsKey();
      const bundleId = (input.bundleId as string) ?? "com.example.app";
      const res = await call("POST", "/v1/apps", {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: {
          name: "Test app",
          bundleId,
          urlScheme: "exampleapp",
          apns: { teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKeyPem },
          ...input,
        },
      });
      if (res.status !== 201) {
        throw new Error(`createTestApp: ${res.status} ${JSON.stringify(res.body)}`);
      }
      return { ...res.body, key, bundleId };
    },
    async stop() {
      if (!options.redis) await testRedis.stop();
    },
  };
}
