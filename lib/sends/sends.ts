/**
 * The sends service: creates sends (idempotently;`wait:true` sends answered synchronously) and
 * measures their payload, and assembles the service from that, the reach preview (reach.ts),
 * the status views and cancel (views.ts) and the workers that do the rest.
 *
 * ```ts
 * const sends = createSends({ redis, apps, registry, segments, relay, logger });
 * const { body } = await sends.create(app, { audience: { segment: "vip" }, notification });
 * const worker = sends.createWorker();await worker.run(signal);
 * ```
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import type { AppRecord } from "../apps/mod.ts";
import { type Clock, systemClock } from "../clock.ts";
import { type Dispatcher, renderMessage } from "../dispatch/mod.ts";
import { PAYLOAD_LIMIT, VOIP_PAYLOAD_LIMIT } from "../apns/payload.ts";
import { randomId, sha256Hex } from "../auth/secrets.ts";
import { Conflict, ValidationFailed } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { Registry } from "../registry/mod.ts";
import type { Segments } from "../segments/mod.ts";
import { sendKeys } from "./_keys.ts";
import { createDeliverer } from "./deliver.ts";
import { createQueue } from "./queue.ts";
import { createReach } from "./reach.ts";
import { createRecorder } from "./recorder.ts";
import { resolveAll } from "./resolver.ts";
import {
  type CreateSendInput,
  IdempotencyKey,
  MAX_WAIT_RECIPIENTS,
  type RecipientResultData,
  type SendStatusValue,
  type SendViewData,
} from "./schemas.ts";
import { type AudienceSpec, createSendStore, type SendState } from "./store.ts";
import { createSendViews } from "./views.ts";
import { createWorker, type Worker, type WorkerOptions } from "./worker.ts";

/** Options of {@linkcode createSends}. */
export interface SendsOptions {
  redis: Redis;
  /**
   * Warnings about the credential the app sends with (an expiring certificate), shown on the
   * send view. Default: none.
   */
  credentialWarnings?: (appId: string) => Promise<SendViewData["warnings"]>;
  registry: Registry;
  segments: Pick<Segments, "get" | "scanReachable" | "reachableCount">;
  /** The one push path. */
  dispatcher: Dispatcher;
  logger: Logger;
  /** Clock. Default: `Date.now`. */
  now?: () => number;
  /** Waits of the deliverer (rate limits). Default: {@linkcode systemClock}. */
  clock?: Clock;
  /** Installation ids per queued batch. Default: 500. */
  batchSize?: number;
  /** Recipients per relay call. Default: 250. */
  chunkSize?: number;
  /** Retried batches: skip (default) or resend recipients of unknown fate (see `DeliverDeps`). */
  uncertain?: "resend" | "skip";
  /** Idempotency keys are remembered this long, ms. Default: 24 h. */
  idempotencyTtlMs?: number;
}

/**
 * What creating a send did: `delivered` (a `wait:true` send, sent now, with per-recipient
 * results) or `accepted` (queued or scheduled for the workers).
 */
export type CreateSendResult =
  | { kind: "accepted"; body: { sendId: string; status: SendStatusValue } }
  | { kind: "delivered"; body: { sendId: string; results: RecipientResultData[] } };

interface IdempotencyRecord {
  bodyHash: string;
  sendId: string;
  response?: CreateSendResult;
}

/** The sends service. */
export type Sends = ReturnType<typeof createSends>;

/** Creates the sends service. */
export function createSends(options: SendsOptions) {
  const { redis, registry, segments } = options;
  const now = options.now ?? Date.now;
  const idempotencyTtlMs = options.idempotencyTtlMs ?? 86_400_000;
  const store = createSendStore({ redis, now });
  const queue = createQueue({ redis });
  const recorder = createRecorder({ store });
  const deliverer = createDeliverer({
    store,
    dispatcher: options.dispatcher,
    recorder,
    registry,
    chunkSize: options.chunkSize,
    uncertain: options.uncertain,
    clock: options.clock ?? systemClock,
  });
  const views = createSendViews({
    redis,
    store,
    queue,
    credentialWarnings: options.credentialWarnings,
  });

  function render(app: AppRecord, sendId: string, input: CreateSendInput) {
    // The SDK reports delivered/opened events with this send id.
    return renderMessage(app.bundleId, input, { sendId });
  }

  function audienceSpec(input: CreateSendInput): { spec: AudienceSpec; ids?: string[] } {
    const a = input.audience;
    if ("segment" in a) return { spec: { kind: "segment", segmentId: a.segment } };
    if ("userIds" in a) return { spec: { kind: "userIds" }, ids: [...new Set(a.userIds)] };
    if ("installationIds" in a) {
      return { spec: { kind: "installationIds" }, ids: [...new Set(a.installationIds)] };
    }
    return { spec: { kind: "all" } };
  }

  /** The recipients of a `wait:true` send; `ValidationFailed` when there are more than 100. */
  async function waitRecipients(
    appId: string,
    input: CreateSendInput,
    spec: AudienceSpec,
    ids: string[] | undefined,
  ): Promise<string[]> {
    const envs = input.environment ? [input.environment] : ["production", "development"] as const;
    const tooMany = (n: number) =>
      new ValidationFailed(
        `wait:true allows at most ${MAX_WAIT_RECIPIENTS} recipients; this audience has ${n}`,
        [{ path: "audience", recipients: n, limit: MAX_WAIT_RECIPIENTS }],
      );
    if (spec.kind === "installationIds") return ids!;
    if (spec.kind === "userIds") {
      const found = (await Promise.all(ids!.map((u) => registry.userInstallations(appId, u))))
        .flat()
        .filter((inst) => inst.status === "active" && envs.includes(inst.environment));
      if (found.length > MAX_WAIT_RECIPIENTS) throw tooMany(found.length);
      return found.map((inst) => inst.installationId);
    }
    let count = 0;
    if (spec.kind === "segment") {
      const counts = await segments.reachableCount(appId, spec.segmentId);
      for (const env of envs) count += counts[env];
    } else {
      for (const env of envs) count += await registry.reachableCount(appId, env);
    }
    if (count > MAX_WAIT_RECIPIENTS) throw tooMany(count);
    const draft = { appId, sendId: "", audience: spec, environment: input.environment ?? null };
    const all = await resolveAll(
      { redis, segments, registry },
      draft as SendState,
      MAX_WAIT_RECIPIENTS,
    );
    if (all === null) throw tooMany(MAX_WAIT_RECIPIENTS + 1);
    return all;
  }

  async function readIdempotency(key: string): Promise<IdempotencyRecord | null> {
    const raw = await redis.get<string>(key);
    if (!raw) return null;
    const record = JSON.parse(String(raw)) as IdempotencyRecord;
    // Records written before results had a kind carried the HTTP status (200 = wait:true).
    const legacy = record.response as { status?: number; body: unknown } | undefined;
    if (legacy && !record.response!.kind) {
      record.response = legacy.status === 200
        ? { kind: "delivered", body: legacy.body } as CreateSendResult
        : undefined;
    }
    return record;
  }

  async function replay(
    appId: string,
    record: IdempotencyRecord,
    bodyHash: string,
    wait: boolean,
  ): Promise<CreateSendResult> {
    if (record.bodyHash !== bodyHash) {
      throw new Conflict("this Idempotency-Key was already used with a different request body");
    }
    // A wait:true answer is replayed as it was (its per-recipient results are the point); a
    // queued send's replay says where it is now, not where it was when first accepted.
    if (record.response?.kind === "delivered") return record.response;
    if (wait) {
      // The first request is still sending: its results do not exist yet, and a 202 would not
      // be the answer a wait:true caller asked for.
      throw new Conflict(
        `send ${record.sendId} with this Idempotency-Key is still in progress; retry once it ` +
          "has answered (or use a new key if that request was interrupted)",
        [{ sendId: record.sendId }],
      );
    }
    const status = await store.status(appId, record.sendId);
    return { kind: "accepted", body: { sendId: record.sendId, status: status ?? "queued" } };
  }

  return {
    store,
    queue,
    /** Writes outcomes as APNs answers; `pending` is what is answered but not yet written. */
    recorder,
    /** The batch deliverer (its `stats.claiming`: claims on their way, for crash tests). */
    deliverer,

    /**
     * Creates a send. Renders and size-checks the payload first, so a bad request writes
     * nothing. With `wait:true` the send happens now and the results come back (200);
     * otherwise the send is queued or scheduled (202) and workers resolve the audience.
     * @throws {ValidationFailed} for a payload over its limit, bad headers, or wait:true over 100.
     * @throws {Conflict} when `idempotencyKey` was used with another body.
     * @throws {SegmentNotFound} for an unknown segment.
     */
    async create(
      app: AppRecord,
      input: CreateSendInput,
      idempotencyKey?: string,
    ): Promise<CreateSendResult> {
      const appId = app.appId;
      let idemKey: string | undefined;
      let bodyHash = "";
      if (idempotencyKey !== undefined) {
        if (!IdempotencyKey.safeParse(idempotencyKey).success) {
          throw new ValidationFailed(
            `Idempotency-Key must be 1–${IdempotencyKey.maxLength} characters`,
          );
        }
        idemKey = sendKeys.idempotency(appId, await sha256Hex(idempotencyKey));
        bodyHash = await sha256Hex(canonicalJson(input));
        const existing = await readIdempotency(idemKey);
        if (existing) return await replay(appId, existing, bodyHash, input.wait === true);
      }
      const sendId = `snd_${randomId(12)}`;
      const message = render(app, sendId, input);
      const { spec, ids } = audienceSpec(input);
      if (spec.kind === "segment") await segments.get(appId, spec.segmentId);
      const waitIds = input.wait ? await waitRecipients(appId, input, spec, ids) : undefined;
      if (idemKey) {
        const record: IdempotencyRecord = { bodyHash, sendId };
        const taken = await redis.set(idemKey, JSON.stringify(record), {
          nx: true,
          px: idempotencyTtlMs,
        });
        if (taken !== "OK") {
          const existing = await readIdempotency(idemKey);
          if (existing) return await replay(appId, existing, bodyHash, input.wait === true);
        }
      }
      const scheduleAt = input.scheduleAt ? Date.parse(input.scheduleAt) : null;
      const scheduled = scheduleAt !== null && scheduleAt > now();
      // The send and its queue entry live in two slots: the intent makes a half-done creation
      // recoverable by the sweeper (see queue.ts).
      if (!waitIds) await queue.intend(appId, sendId, now());
      await store.create({
        appId,
        sendId,
        status: waitIds ? "sending" : scheduled ? "scheduled" : "queued",
        audience: spec,
        ids: waitIds ? undefined : ids,
        environment: input.environment ?? null,
        ratePerSecond: input.ratePerSecond ?? null,
        scheduleAt,
        ...message,
      });
      let result: CreateSendResult;
      if (waitIds) {
        const send = (await store.load(appId, sendId))!;
        const report = await deliverer.deliver(send, 0, waitIds);
        if (!report.stopped) {
          await store.progress(appId, sendId, { issued: 1, resolved: true, batchDone: 0 });
        }
        result = { kind: "delivered", body: { sendId, results: report.results } };
      } else if (scheduled) {
        await queue.settle(appId, sendId, { scheduleAt: scheduleAt! });
        result = { kind: "accepted", body: { sendId, status: "scheduled" } };
      } else {
        await queue.settle(appId, sendId, { push: true });
        result = { kind: "accepted", body: { sendId, status: "queued" } };
      }
      if (idemKey) {
        const record: IdempotencyRecord = { bodyHash, sendId, response: result };
        await redis.set(idemKey, JSON.stringify(record), { px: idempotencyTtlMs });
      }
      return result;
    },

    /**
     * Renders `input` exactly as {@linkcode create} would (headers and payload, with a send id
     * of the same length) without sending anything: the payload's size against its limit.
     * @throws {ValidationFailed} as `create` would (over the limit, bad headers, …).
     */
    measure(app: AppRecord, input: CreateSendInput): { size: number; limit: number } {
      const { body } = render(app, `snd_${"0".repeat(24)}`, input);
      return {
        size: new TextEncoder().encode(body).byteLength,
        limit: input.pushType === "voip" ? VOIP_PAYLOAD_LIMIT : PAYLOAD_LIMIT,
      };
    },

    // reach (reach.ts)
    ...createReach({ registry, segments }),

    // get, list, recipientHistory and cancel (views.ts)
    ...views,

    /** Builds a worker over the shared queue (see lib/sends/worker.ts). */
    createWorker(workerOptions: WorkerOptions = {}): Worker {
      return createWorker({
        redis,
        store,
        queue,
        segments,
        registry,
        deliverer,
        logger: options.logger,
        now,
        batchSize: options.batchSize,
      }, workerOptions);
    },
  };
}

/** JSON with sorted object keys, so equal bodies hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
