/**
 * A sends test environment: a private Redis, the real services and app (harness), the HTTP/2
 * mock APNs with the app's key registered, and helpers to register installations, run
 * in-process workers and wait for a send's status.
 *
 * @module
 */
import { createSealedBox, generateMasterKey } from "../../../lib/crypto/sealed_box.ts";
import type { SendViewData, WorkerOptions } from "../../../lib/sends/mod.ts";
import type { ServiceOptions } from "../../../lib/services.ts";
import { type Harness, startHarness, type TestApp } from "../../support/harness.ts";
import { type MockApns, type MockApnsOptions, startMockApns } from "../../support/mock_apns.ts";
import { type TestRedis, waitFor } from "../../support/redis_server.ts";

/** A 64-hex APNs token derived from a number (and a salt, to keep tests apart). */
export function token(i: number, salt = 0): string {
  return (salt.toString(16) + "f").padEnd(8, "0") + i.toString(16).padStart(56, "0");
}

/** The running environment. */
export interface SendEnv {
  h: Harness;
  mock: MockApns;
  app: TestApp;
  masterKey: string;
  /** `authorization` header with the app's server key. */
  auth: Record<string, string>;
  /** Registers an installation through the registry; returns its id. */
  register(input: {
    token: string;
    environment?: "production" | "development";
    userId?: string;
    pushAuthorization?: "authorized" | "denied";
  }): Promise<string>;
  /** Registers `n` installations (tokens `token(i, salt)`) in parallel; returns their ids. */
  registerMany(
    n: number,
    options?: { salt?: number; userPrefix?: string; environment?: "production" | "development" },
  ): Promise<string[]>;
  /** Starts in-process workers; `stop()` waits for them. */
  startWorkers(count?: number, options?: WorkerOptions): { stop(): Promise<void> };
  /** Polls `GET …/sends/:id` until `accept(view)`; returns the view. */
  waitSend(
    sendId: string,
    accept: (view: SendViewData) => boolean,
    timeoutMs?: number,
  ): Promise<SendViewData>;
  stop(): Promise<void>;
}

/** Starts a sends environment. Always `await env.stop()` in `finally`. */
export async function startSendEnv(
  options: {
    mock?: MockApnsOptions;
    now?: () => number;
    /** Run over this Redis (a test cluster, say) instead of a private one; the caller stops it. */
    redis?: TestRedis;
    /** SDK rate limits. Default: none. */
    sdkRateLimit?: ServiceOptions["sdkRateLimit"];
  } = {},
): Promise<SendEnv> {
  const mock = await startMockApns(options.mock);
  const masterKey = generateMasterKey();
  let h: Harness | undefined;
  const stoppers: Array<() => Promise<void>> = [];
  try {
    h = await startHarness({
      redis: options.redis,
      services: {
        box: await createSealedBox(masterKey),
        apns: {
          productionHost: mock.hosts.production,
          developmentHost: mock.hosts.development,
          caPem: mock.caPem,
        },
        ...(options.now ? { now: options.now } : {}),
        ...(options.sdkRateLimit ? { sdkRateLimit: options.sdkRateLimit } : {}),
      },
    });
    const harness = h;
    const app = await harness.createTestApp();
    await mock.addKey(app.key.keyId, app.key.teamId, app.key.privateKeyPem);
    const register: SendEnv["register"] = async (input) => {
      const result = await harness.services.registry.register(app.appId, {
        token: input.token,
        environment: input.environment ?? "production",
        userId: input.userId,
        pushAuthorization: input.pushAuthorization,
      });
      return result.installationId;
    };
    return {
      h: harness,
      mock,
      app,
      masterKey,
      auth: { authorization: `Bearer ${app.serverKey}` },
      register,
      async registerMany(n, o = {}) {
        const ids: string[] = [];
        for (let start = 0; start < n; start += 200) {
          const slice = Array.from({ length: Math.min(200, n - start) }, (_, k) => start + k);
          ids.push(
            ...await Promise.all(slice.map((i) =>
              register({
                token: token(i, o.salt),
                environment: o.environment,
                userId: o.userPrefix ? `${o.userPrefix}${i}` : undefined,
              })
            )),
          );
        }
        return ids;
      },
      startWorkers(count = 1, workerOptions = {}) {
        const controller = new AbortController();
        const runs = Array.from(
          { length: count },
          () =>
            harness.services.sends.createWorker({ maxIdleMs: 20, ...workerOptions }).run(
              controller.signal,
            ),
        );
        const stop = async () => {
          controller.abort();
          await Promise.all(runs);
        };
        stoppers.push(stop);
        return { stop };
      },
      async waitSend(sendId, accept, timeoutMs = 15_000) {
        return await waitFor(async () => {
          const view = await harness.services.sends.get(app.appId, sendId);
          return accept(view) ? view : null;
        }, { timeoutMs, intervalMs: 20, what: `send ${sendId}` });
      },
      async stop() {
        for (const stop of stoppers) await stop();
        await harness.services.relay.close();
        await harness.stop();
        await mock.close();
      },
    };
  } catch (error) {
    if (h) {
      await h.services.relay.close();
      await h.stop();
    }
    await mock.close();
    throw error;
  }
}
