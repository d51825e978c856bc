/**
 * The work queue shared by every worker of every app: one Redis Stream (`ep:v1:sendq`) read
 * through the consumer group `workers`, plus a sorted set of scheduled sends.
 *
 * Work items are small: a *resolve step* (`{k:"r"}`: resolve the next slice of a send's audience
 * from a cursor) or a *batch* (`{k:"b"}`: up to ~500 installation ids of one send, with a
 * sequence number). Per-send state stays under the app's hash tag (see `_keys.ts`); the stream
 * only says what to do next, so a stalled item reclaimed with `XAUTOCLAIM` is simply done again
 * and the per-send handled set makes the repeat harmless.
 *
 * Reading never blocks (`XREADGROUP` without `BLOCK`): the TCP requester pipelines every command
 * on one connection, and the REST mode cannot hold a request open. Idle workers poll with
 * backoff instead.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { sendKeys } from "./_keys.ts";

/** Where a resolve step starts: source index, SSCAN cursor or list offset, next batch number. */
export interface ResolveCursor {
  /** Index of the source being read (e.g. 0 = production set, 1 = development set). */
  source: number;
  /** SSCAN cursor, or the offset into the audience list. */
  cursor: string;
  /** Sequence number of the next batch. */
  seq: number;
}

/** One item of the queue. */
export type WorkItem =
  | { kind: "resolve"; appId: string; sendId: string; at: ResolveCursor }
  | { kind: "batch"; appId: string; sendId: string; seq: number; ids: string[] };

/** An item as read: its stream entry id plus the item. */
export interface QueueEntry {
  id: string;
  item: WorkItem | null;
}

/** The queue returned by {@linkcode createQueue}. */
export type Queue = ReturnType<typeof createQueue>;

/** Creates the queue over the domain Redis. */
export function createQueue(options: { redis: Redis }) {
  const { redis } = options;
  const key = sendKeys.queue();
  const group = sendKeys.group();
  let groupReady = false;

  async function ensureGroup(): Promise<void> {
    if (groupReady) return;
    try {
      await redis.xgroup(key, { type: "CREATE", group, id: "0", options: { MKSTREAM: true } });
    } catch (error) {
      if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
    }
    groupReady = true;
  }

  /** Runs `fn`, recreating the group once if the stream was deleted under us. */
  async function withGroup<T>(fn: () => Promise<T>): Promise<T> {
    await ensureGroup();
    try {
      return await fn();
    } catch (error) {
      if (!String((error as Error).message).includes("NOGROUP")) throw error;
      groupReady = false;
      await ensureGroup();
      return await fn();
    }
  }

  return {
    /** Creates the consumer group (idempotent). */
    ensureGroup,

    /** Appends a work item. */
    async push(item: WorkItem): Promise<string> {
      return String(await redis.xadd(key, "*", encode(item)));
    },

    /** Reads up to `count` new items for `consumer`. */
    async read(consumer: string, count: number): Promise<QueueEntry[]> {
      const reply = await withGroup(() =>
        redis.xreadgroup(group, consumer, key, ">", { count }) as Promise<unknown>
      );
      if (!Array.isArray(reply) || reply.length === 0) return [];
      const [, entries] = reply[0] as [string, unknown[]];
      return parseEntries(entries);
    },

    /** Claims up to `count` items idle for `minIdleMs` (their worker stalled or died). */
    async reclaim(consumer: string, minIdleMs: number, count: number): Promise<QueueEntry[]> {
      const reply = await withGroup(() =>
        redis.xautoclaim(key, group, consumer, minIdleMs, "0-0", { count }) as Promise<unknown>
      );
      if (!Array.isArray(reply)) return [];
      return parseEntries(reply[1] as unknown[]);
    },

    /** Resets an item's idle time, so a slow but live worker keeps it. */
    async touch(consumer: string, entryId: string): Promise<void> {
      await redis.xclaim(key, group, consumer, 0, entryId, { justId: true });
    },

    /** Acknowledges and deletes an item. */
    async ack(entryId: string): Promise<void> {
      const p = redis.pipeline();
      p.xack(key, group, entryId);
      p.xdel(key, entryId);
      await p.exec();
    },

    /** Items in the stream: unread plus read but not yet acknowledged. */
    async length(): Promise<number> {
      return Number(await redis.xlen(key));
    },

    /** Adds a send to the scheduled set. */
    async schedule(appId: string, sendId: string, at: number): Promise<void> {
      await redis.zadd(sendKeys.scheduled(), { score: at, member: `${appId}/${sendId}` });
    },

    /** Removes a send from the scheduled set; true when it was there (the caller owns it). */
    async unschedule(appId: string, sendId: string): Promise<boolean> {
      return Number(await redis.zrem(sendKeys.scheduled(), `${appId}/${sendId}`)) === 1;
    },

    /** Scheduled sends due at `now`, oldest first (at most `limit`). */
    async due(now: number, limit: number): Promise<Array<{ appId: string; sendId: string }>> {
      const members = await redis.zrange<string[]>(sendKeys.scheduled(), "-inf", now, {
        byScore: true,
        offset: 0,
        count: limit,
      });
      return members.map(String).map((m) => {
        const [appId, sendId] = m.split("/");
        return { appId, sendId };
      });
    },
  };
}

function encode(item: WorkItem): Record<string, string> {
  if (item.kind === "resolve") {
    return {
      k: "r",
      a: item.appId,
      s: item.sendId,
      src: String(item.at.source),
      cur: item.at.cursor,
      seq: String(item.at.seq),
    };
  }
  return { k: "b", a: item.appId, s: item.sendId, seq: String(item.seq), ids: item.ids.join(",") };
}

function toMap(flat: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

function parseEntries(entries: unknown[]): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (const entry of entries ?? []) {
    if (!Array.isArray(entry)) continue;
    const [id, fields] = entry as [string, unknown[] | null];
    out.push({ id: String(id), item: Array.isArray(fields) ? decode(toMap(fields)) : null });
  }
  return out;
}

function decode(f: Record<string, string>): WorkItem | null {
  if (!f.a || !f.s) return null;
  if (f.k === "r") {
    return {
      kind: "resolve",
      appId: f.a,
      sendId: f.s,
      at: { source: Number(f.src), cursor: f.cur, seq: Number(f.seq) },
    };
  }
  if (f.k === "b") {
    return {
      kind: "batch",
      appId: f.a,
      sendId: f.s,
      seq: Number(f.seq),
      ids: f.ids ? f.ids.split(",") : [],
    };
  }
  return null;
}
