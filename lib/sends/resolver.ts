/**
 * Resolution: turns a send's audience into batches of installation ids on the queue, one
 * bounded step at a time. A step reads from a cursor (a byte offset into a reach bitmap, or an
 * offset into the send's explicit audience list), issues at most `maxBatchesPerStep` batches,
 * and queues the next step behind them, so resolution never runs far ahead of sending and a
 * worker never holds more than one step in memory.
 *
 * Sources by audience:
 * - `segment`: the segment's reach bitmaps over installation numbers (`seg:<sid>:rb:<env>`);
 * - `all`: the app's reach bitmaps (`rb:<env>`);
 * - `installationIds`: the list stored with the send;
 * - `userIds`: the list stored with the send, each user expanded through the registry's user
 *   index to their active installations.
 * The `environment` filter keeps only that environment's set (or installations).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import type { Registry } from "../registry/mod.ts";
import type { Segments } from "../segments/mod.ts";
import { sendKeys } from "./_keys.ts";
import type { Queue, ResolveCursor } from "./queue.ts";
import type { SendState, SendStore } from "./store.ts";

type Env = "production" | "development";

/** What resolution needs. */
export interface ResolverDeps {
  redis: Redis;
  store: SendStore;
  queue: Queue;
  segments: Pick<Segments, "scanReachable">;
  registry: Pick<Registry, "userInstallations" | "scanReachable">;
  /** Installation ids per batch. Default: 500. */
  batchSize?: number;
  /**
   * Batches one step may issue before it queues the next step. Default: 64 (32,000 recipients
   * at the default batch size). Each read is one batch's worth, and each batch is queued as soon
   * as it is read, so the first goes out after one read whatever this is; a larger step only
   * spares the round trips through the queue between steps, which paced large campaigns.
   */
  maxBatchesPerStep?: number;
}

/** One place recipients come from, read in slices. */
interface Source {
  /** Reads one slice from `cursor`; `next` is null when the source is exhausted. */
  read(cursor: string): Promise<{ next: string | null; ids: string[] }>;
}

const USERS_PER_SLICE = 100;

function environments(send: SendState): Env[] {
  return send.environment ? [send.environment] : ["production", "development"];
}

function sourcesFor(deps: ResolverDeps, send: SendState, batchSize: number): Source[] {
  const { appId, sendId } = send;
  const audience = send.audience;
  if (audience.kind === "segment") {
    return environments(send).map((env) => ({
      async read(cursor) {
        const page = await deps.segments.scanReachable(
          appId,
          audience.segmentId,
          env,
          cursor,
          batchSize,
        );
        return { next: page.cursor === "0" ? null : page.cursor, ids: page.installationIds };
      },
    }));
  }
  if (audience.kind === "all") {
    return environments(send).map((env) => ({
      async read(cursor) {
        const step = await deps.registry.scanReachable(appId, env, cursor, batchSize);
        return { next: step.cursor === "0" ? null : step.cursor, ids: step.installationIds };
      },
    }));
  }
  const list = sendKeys.audience(appId, sendId);
  if (audience.kind === "installationIds") {
    return [{
      async read(cursor) {
        const offset = Number(cursor);
        const ids = (await deps.redis.lrange(list, offset, offset + batchSize - 1)).map(String);
        return { next: ids.length < batchSize ? null : String(offset + ids.length), ids };
      },
    }];
  }
  const envs = environments(send);
  return [{
    async read(cursor) {
      const offset = Number(cursor);
      const users = (await deps.redis.lrange(list, offset, offset + USERS_PER_SLICE - 1))
        .map(String);
      const found = await Promise.all(
        users.map((userId) => deps.registry.userInstallations(appId, userId)),
      );
      const ids = found.flat()
        .filter((inst) => inst.status === "active" && envs.includes(inst.environment))
        .map((inst) => inst.installationId);
      return { next: users.length < USERS_PER_SLICE ? null : String(offset + users.length), ids };
    },
  }];
}

/**
 * Runs one resolution step of a send from `at`: issues up to `maxBatchesPerStep` batches and
 * either queues the next step or marks resolution finished. Returns whether it finished.
 * A step repeated after a crash issues the same batch numbers again; the per-send claims make
 * the repeat harmless.
 */
export async function resolveStep(
  deps: ResolverDeps,
  send: SendState,
  at: ResolveCursor,
): Promise<boolean> {
  const batchSize = deps.batchSize ?? 500;
  const maxBatches = deps.maxBatchesPerStep ?? 64;
  const sources = sourcesFor(deps, send, batchSize);
  let { source, cursor, seq } = at;
  let pending: string[] = [];
  let issued = 0;
  const flush = async (all: boolean) => {
    while (pending.length >= batchSize || (all && pending.length > 0)) {
      const ids = pending.slice(0, batchSize);
      pending = pending.slice(batchSize);
      await deps.queue.push({ kind: "batch", appId: send.appId, sendId: send.sendId, seq, ids });
      seq++;
      issued++;
    }
  };
  while (source < sources.length && issued < maxBatches) {
    const page = await sources[source].read(cursor);
    pending.push(...page.ids);
    if (page.next === null) {
      source++;
      cursor = "0";
    } else {
      cursor = page.next;
    }
    await flush(false);
  }
  await flush(true);
  const finished = source >= sources.length;
  if (!finished) {
    await deps.queue.push({
      kind: "resolve",
      appId: send.appId,
      sendId: send.sendId,
      at: { source, cursor, seq },
    });
  }
  await deps.store.progress(send.appId, send.sendId, { issued: seq, resolved: finished });
  return finished;
}

/**
 * Resolves a small audience at once, for `wait:true`: every installation id, deduplicated, or
 * null as soon as there are more than `limit`.
 */
export async function resolveAll(
  deps: Omit<ResolverDeps, "store" | "queue">,
  send: SendState,
  limit: number,
): Promise<string[] | null> {
  const sources = sourcesFor(deps as ResolverDeps, send, limit + 1);
  const seen = new Set<string>();
  for (const source of sources) {
    let cursor: string | null = "0";
    while (cursor !== null) {
      const page: { next: string | null; ids: string[] } = await source.read(cursor);
      for (const id of page.ids) seen.add(id);
      if (seen.size > limit) return null;
      cursor = page.next;
    }
  }
  return [...seen];
}
