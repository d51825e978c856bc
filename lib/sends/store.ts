/**
 * The send record: one hash per send with its spec, rendered message, status, counters and
 * timestamps, plus the per-send handled set and failure reasons. Every change that must be
 * atomic is one Lua script (record, progress, transition, rate).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { NotFound } from "../errors.ts";
import { sendKeys } from "./_keys.ts";
import type { SendStatusValue, SendViewData } from "./schemas.ts";
import recordLua from "./scripts/record.lua" with { type: "text" };
import progressLua from "./scripts/progress.lua" with { type: "text" };
import transitionLua from "./scripts/transition.lua" with { type: "text" };
import rateLua from "./scripts/rate.lua" with { type: "text" };
import claimLua from "./scripts/claim.lua" with { type: "text" };

/** How many sends the per-app index keeps (older ones drop out of `GET …/sends`). */
export const SEND_INDEX_LIMIT = 1_000;

/** Statuses after which nothing more goes out. */
export const FINAL_STATUSES: readonly SendStatusValue[] = ["completed", "cancelled", "failed"];

/** Thrown when a send id names no send of the app. */
export class SendNotFound extends NotFound {
  override name = "SendNotFound";
  constructor() {
    super("send not found");
  }
}

/** Where a send's recipients come from. */
export type AudienceSpec =
  | { kind: "segment"; segmentId: string }
  | { kind: "all" }
  | { kind: "installationIds" }
  | { kind: "userIds" };

/** Everything needed to create a send record. */
export interface NewSend {
  appId: string;
  sendId: string;
  status: "scheduled" | "queued" | "sending";
  audience: AudienceSpec;
  /** Explicit ids (installation ids or user ids), stored in the audience list. */
  ids?: readonly string[];
  environment: "production" | "development" | null;
  ratePerSecond: number | null;
  scheduleAt: number | null;
  /** Rendered APNs payload. */
  body: string;
  /** APNs headers (without authorization). */
  headers: Record<string, string>;
}

/** A send as stored, parsed. */
export interface SendState {
  appId: string;
  sendId: string;
  status: SendStatusValue;
  audience: AudienceSpec;
  environment: "production" | "development" | null;
  ratePerSecond: number | null;
  scheduleAt: number | null;
  body: string;
  headers: Record<string, string>;
  counts: {
    targeted: number;
    attempted: number;
    accepted: number;
    failed: number;
    invalidated: number;
    skipped: number;
  };
  batches: number;
  resolved: boolean;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: { reason: string; message: string } | null;
}

/** One recipient's final outcome, as {@linkcode SendStore.record} stores it. */
export interface Outcome {
  installationId: string;
  outcome: "accepted" | "failed" | "skipped";
  attempted: boolean;
  invalidated: boolean;
  reason?: string;
}

/** Options of {@linkcode createSendStore}. */
export interface SendStoreOptions {
  redis: Redis;
  /** Clock (epoch ms). Default: `Date.now`. */
  now?: () => number;
  /** How long a finished send's bookkeeping (handled set, batches) is kept. Default: 7 days. */
  retentionMs?: number;
}

/** The send store. */
export type SendStore = ReturnType<typeof createSendStore>;

const OUTCOME_CODE = { accepted: "a", failed: "f", skipped: "s" } as const;

/** Creates the send store over the domain Redis. */
export function createSendStore(options: SendStoreOptions) {
  const { redis } = options;
  const now = options.now ?? Date.now;
  const retentionMs = options.retentionMs ?? 7 * 86_400_000;
  const recordScript = redis.createScript<number>(recordLua);
  const progressScript = redis.createScript<string>(progressLua);
  const transitionScript = redis.createScript<[number, string]>(transitionLua);
  const rateScript = redis.createScript<[number, number]>(rateLua);
  const claimScript = redis.createScript<unknown[]>(claimLua);

  function bookkeeping(appId: string, sendId: string): string[] {
    return [
      sendKeys.handled(appId, sendId),
      sendKeys.failures(appId, sendId),
      sendKeys.batchesDone(appId, sendId),
      sendKeys.audience(appId, sendId),
    ];
  }

  return {
    /** Writes a new send (hash, index entry, explicit audience) in one transaction. */
    async create(send: NewSend): Promise<void> {
      const key = sendKeys.send(send.appId, send.sendId);
      const createdAt = now();
      const tx = redis.multi();
      tx.hset(key, {
        appId: send.appId,
        sendId: send.sendId,
        status: send.status,
        audience: JSON.stringify(send.audience),
        environment: send.environment ?? "",
        rate: send.ratePerSecond === null ? "" : String(send.ratePerSecond),
        scheduleAt: send.scheduleAt === null ? "" : String(send.scheduleAt),
        body: send.body,
        headers: JSON.stringify(send.headers),
        createdAt: String(createdAt),
        targeted: "0",
        attempted: "0",
        accepted: "0",
        failed: "0",
        invalidated: "0",
        skipped: "0",
        batches: "0",
        resolved: "0",
      });
      if (send.ids?.length) tx.rpush(sendKeys.audience(send.appId, send.sendId), ...send.ids);
      tx.zadd(sendKeys.index(send.appId), { score: createdAt, member: send.sendId });
      tx.zremrangebyrank(sendKeys.index(send.appId), 0, -(SEND_INDEX_LIMIT + 1));
      await tx.exec();
    },

    /** Reads a send, or null. */
    async load(appId: string, sendId: string): Promise<SendState | null> {
      const raw = await redis.hgetall<Record<string, unknown>>(sendKeys.send(appId, sendId));
      return parseSend(raw);
    },

    /** The status alone (cheap, for per-chunk cancel checks); null when the send is gone. */
    async status(appId: string, sendId: string): Promise<SendStatusValue | null> {
      const status = await redis.hget<string>(sendKeys.send(appId, sendId), "status");
      return status ? String(status) as SendStatusValue : null;
    },

    /** The failures hash: APNs reason → count. */
    async failures(appId: string, sendId: string): Promise<Record<string, number>> {
      const raw = await redis.hgetall<Record<string, unknown>>(sendKeys.failures(appId, sendId));
      return Object.fromEntries(Object.entries(raw ?? {}).map(([k, v]) => [k, Number(v)]));
    },

    /** The newest send ids of an app, newest first. */
    async recent(appId: string, limit: number): Promise<string[]> {
      const ids = await redis.zrange<string[]>(sendKeys.index(appId), 0, limit - 1, { rev: true });
      return ids.map(String);
    },

    /**
     * What became of one installation in each of `sendIds` (the per-send handled record):
     * `accepted`, `failed_or_skipped`, `pending` (claimed by a batch still running) or null
     * when the send never targeted it (or its record expired).
     */
    async recipientOutcomes(
      appId: string,
      sendIds: readonly string[],
      installationId: string,
    ): Promise<Array<"accepted" | "failed_or_skipped" | "pending" | null>> {
      if (sendIds.length === 0) return [];
      const p = redis.pipeline();
      for (const sendId of sendIds) p.hget(sendKeys.handled(appId, sendId), installationId);
      const replies = await p.exec<Array<string | null>>();
      return replies.map((raw) => {
        if (raw === null || raw === undefined) return null;
        const code = String(raw);
        return code === "a" ? "accepted" : code === "d" ? "failed_or_skipped" : "pending";
      });
    },

    /**
     * Claims `ids` for batch `seq`, checking the send's status in the same step. Per id: `new`
     * (claimed now), `retry` (claimed by this same batch before a crash: APNs may already have
     * it) or `other` (done, or another batch's). `stopped` is set, and nothing claimed, when the
     * send is cancelled, failed or gone.
     */
    async claim(
      appId: string,
      sendId: string,
      seq: number,
      ids: readonly string[],
    ): Promise<{
      stopped?: "cancelled" | "failed" | "gone";
      flags: Array<"new" | "retry" | "other">;
    }> {
      const reply = await claimScript.exec(
        [sendKeys.handled(appId, sendId), sendKeys.send(appId, sendId)],
        [String(seq), ...ids],
      );
      const status = String(reply[0]);
      if (status === "") return { stopped: "gone", flags: [] };
      if (status === "cancelled" || status === "failed") return { stopped: status, flags: [] };
      const flags = (reply[1] as unknown[]).map((f) =>
        Number(f) === 1 ? "new" as const : Number(f) === 2 ? "retry" as const : "other" as const
      );
      return { flags };
    },

    /** Records final outcomes (each recipient once); returns how many were new. */
    async record(appId: string, sendId: string, outcomes: readonly Outcome[]): Promise<number> {
      if (outcomes.length === 0) return 0;
      const args = [String(now())];
      for (const o of outcomes) {
        args.push(
          o.installationId,
          OUTCOME_CODE[o.outcome],
          o.attempted ? "1" : "0",
          o.invalidated ? "1" : "0",
          o.reason ?? "",
        );
      }
      return Number(
        await recordScript.exec([
          sendKeys.send(appId, sendId),
          sendKeys.handled(appId, sendId),
          sendKeys.failures(appId, sendId),
          sendKeys.eventsSeen(appId, sendId),
        ], args),
      );
    },

    /**
     * Advances a send: a batch done, more batches issued, resolution finished. Completes the
     * send when resolution is finished and every issued batch is done. Returns the status.
     */
    async progress(
      appId: string,
      sendId: string,
      step: { batchDone?: number; issued?: number; resolved?: boolean },
    ): Promise<SendStatusValue | null> {
      const status = await progressScript.exec(
        [
          sendKeys.send(appId, sendId),
          sendKeys.batchesDone(appId, sendId),
          ...bookkeeping(appId, sendId),
        ],
        [
          String(now()),
          step.batchDone === undefined ? "" : String(step.batchDone),
          step.issued === undefined ? "" : String(step.issued),
          step.resolved ? "1" : "0",
          String(retentionMs),
        ],
      );
      return status ? String(status) as SendStatusValue : null;
    },

    /**
     * Moves a send to `to` when its status is one of `from`. Final statuses stamp finishedAt;
     * `error` is stored for `failed`. Returns whether it changed and the status before.
     */
    async transition(
      appId: string,
      sendId: string,
      to: SendStatusValue,
      from: readonly SendStatusValue[],
      error?: { reason: string; message: string },
    ): Promise<{ changed: boolean; before: SendStatusValue | null }> {
      const [changed, before] = await transitionScript.exec([sendKeys.send(appId, sendId)], [
        to,
        from.join(" "),
        String(now()),
        FINAL_STATUSES.includes(to) ? "1" : "0",
        error?.reason ?? "",
        error?.message ?? "",
      ]);
      if (Number(changed) === 1 && FINAL_STATUSES.includes(to)) {
        for (const key of bookkeeping(appId, sendId)) await redis.pexpire(key, retentionMs);
      }
      return {
        changed: Number(changed) === 1,
        before: before ? String(before) as SendStatusValue : null,
      };
    },

    /**
     * Takes up to `wanted` tokens from the send's shared bucket (`rate` per second, bursts of
     * `capacity`). Returns the tokens granted and, when none were, how long to wait.
     */
    async takeTokens(
      appId: string,
      sendId: string,
      rate: number,
      capacity: number,
      wanted: number,
    ): Promise<{ granted: number; waitMs: number }> {
      const [granted, waitMs] = await rateScript.exec([sendKeys.bucket(appId, sendId)], [
        String(rate),
        String(capacity),
        String(now()),
        String(wanted),
      ]);
      return { granted: Number(granted), waitMs: Number(waitMs) };
    },

    /** The API view of a send, with the SDK's delivered/opened counters. */
    view(
      send: SendState,
      extra: {
        failures: Record<string, number>;
        delivered: number;
        opened: number;
        warnings: SendViewData["warnings"];
      },
    ): SendViewData {
      const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString();
      return {
        sendId: send.sendId,
        status: send.status,
        counts: { ...send.counts, delivered: extra.delivered, opened: extra.opened },
        failures: extra.failures,
        createdAt: iso(send.createdAt)!,
        startedAt: iso(send.startedAt),
        finishedAt: iso(send.finishedAt),
        scheduleAt: iso(send.scheduleAt),
        error: send.error,
        warnings: extra.warnings,
      };
    },
  };
}

/** Parses a stored send hash; null when empty. */
export function parseSend(raw: Record<string, unknown> | null | undefined): SendState | null {
  if (!raw || !raw.sendId) return null;
  const s = (field: string) =>
    raw[field] === undefined || raw[field] === null ? "" : String(raw[field]);
  const n = (field: string) => Number(s(field) || "0");
  const ms = (field: string) => s(field) === "" ? null : Number(s(field));
  return {
    appId: s("appId"),
    sendId: s("sendId"),
    status: s("status") as SendStatusValue,
    audience: JSON.parse(s("audience") || '{"kind":"all"}'),
    environment: (s("environment") || null) as SendState["environment"],
    ratePerSecond: ms("rate"),
    scheduleAt: ms("scheduleAt"),
    body: s("body"),
    headers: JSON.parse(s("headers") || "{}"),
    counts: {
      targeted: n("targeted"),
      attempted: n("attempted"),
      accepted: n("accepted"),
      failed: n("failed"),
      invalidated: n("invalidated"),
      skipped: n("skipped"),
    },
    batches: n("batches"),
    resolved: s("resolved") === "1",
    createdAt: n("createdAt"),
    startedAt: ms("startedAt"),
    finishedAt: ms("finishedAt"),
    error: s("errorReason") ? { reason: s("errorReason"), message: s("errorMessage") } : null,
  };
}
