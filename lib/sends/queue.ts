/**
 * The work queue shared by every worker of every app, in {@linkcode QUEUE_PARTITIONS}
 * partitions (`ep:v1:{q:<n>}:…`, the partition chosen by app), so a Redis Cluster spreads it
 * over its masters. Each partition has a Redis Stream read through the consumer group
 * `workers`, a sorted set of scheduled sends and a sorted set of intents. Every worker reads
 * every partition, with the same consumer-group, claim and `XAUTOCLAIM` guarantees in each.
 *
 * Work items are small: a *resolve step* (`{k:"r"}`: resolve the next slice of a send's audience
 * from a cursor) or a *batch* (`{k:"b"}`: up to ~500 installation ids of one send, with a
 * sequence number). Per-send state stays under the app's hash tag (see `_keys.ts`); the stream
 * only says what to do next, so a stalled item reclaimed with `XAUTOCLAIM` is simply done again
 * and the per-send handled set makes the repeat harmless.
 *
 * A new send is written under the app's hash tag and queued under its partition's: two slots,
 * so no transaction can span both. An *intent* is recorded in the partition first and settled
 * by the script that writes the queue (or schedule) entry; an intent left behind by a failed
 * write is found by {@linkcode Queue.staleIntents} and settled by the sweeper, so no send stays
 * "queued" or "scheduled" forever.
 *
 * Reading never blocks (`XREADGROUP` without `BLOCK`): the TCP requester pipelines every command
 * on one connection, and the REST mode cannot hold a request open. Idle workers poll with
 * backoff instead. Entry ids carry their partition (`<n>/<stream id>`).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { partitionOf, QUEUE_PARTITIONS, sendKeys } from "./_keys.ts";
import settleLua from "./scripts/queue_settle.lua" with { type: "text" };
import promoteLua from "./scripts/queue_promote.lua" with { type: "text" };

/** Where a resolve step starts: source index, bitmap cursor or list offset, next batch number. */
export interface ResolveCursor {
  /** Index of the source being read (e.g. 0 = production bitmap, 1 = development bitmap). */
  source: number;
  /** Byte offset into a reach bitmap, or the offset into the audience list. */
  cursor: string;
  /** Sequence number of the next batch. */
  seq: number;
}

/** One item of the queue. */
export type WorkItem =
  | { kind: "resolve"; appId: string; sendId: string; at: ResolveCursor }
  | { kind: "batch"; appId: string; sendId: string; seq: number; ids: string[] };

/** An item as read: its entry id (`<partition>/<stream id>`) plus the item. */
export interface QueueEntry {
  id: string;
  item: WorkItem | null;
}

/** How an intent is settled: queue the send's first resolve step, schedule it, or drop it. */
export type Settlement = { push: true } | { scheduleAt: number } | { drop: true };

/** The queue returned by {@linkcode createQueue}. */
export type Queue = ReturnType<typeof createQueue>;

/** The read-only partition name of the stream written before partitioning. */
const LEGACY = "L";

/** Creates the queue over the domain Redis. */
export function createQueue(options: { redis: Redis }) {
  const { redis } = options;
  const group = sendKeys.group();
  const settleScript = redis.createScript<number>(settleLua);
  const promoteScript = redis.createScript<number>(promoteLua);
  const partitions = Array.from({ length: QUEUE_PARTITIONS }, (_, n) => String(n));
  /** Partitions read, the legacy stream included while it exists. */
  let reading: string[] = partitions;
  const ready = new Set<string>();
  let rotation = 0;

  const streamOf = (partition: string) =>
    partition === LEGACY ? sendKeys.legacyQueue() : sendKeys.queue(Number(partition));

  async function createGroup(partition: string): Promise<void> {
    try {
      await redis.xgroup(streamOf(partition), {
        type: "CREATE",
        group,
        id: "0",
        options: { MKSTREAM: true },
      });
    } catch (error) {
      if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
    }
    ready.add(partition);
  }

  async function ensureGroup(): Promise<void> {
    if (ready.size === reading.length) return;
    if (!ready.size && Number(await redis.exists(sendKeys.legacyQueue())) === 1) {
      reading = [...partitions, LEGACY];
    }
    for (const partition of reading) if (!ready.has(partition)) await createGroup(partition);
    await migrateLegacySchedule();
  }

  /** Moves the pre-partitioning schedule's members into their partitions (idempotent). */
  async function migrateLegacySchedule(): Promise<void> {
    const legacy = sendKeys.legacyScheduled();
    while (true) {
      const batch = await redis.zrange<string[]>(legacy, 0, 99, { withScores: true });
      if (!batch.length) return;
      for (let i = 0; i + 1 < batch.length; i += 2) {
        const member = String(batch[i]);
        const appId = member.split("/")[0];
        await redis.zadd(sendKeys.scheduled(partitionOf(appId)), {
          score: Number(batch[i + 1]),
          member,
        });
        await redis.zrem(legacy, member);
      }
    }
  }

  /** Runs `fn` on a partition, recreating its group once if the stream was deleted under us. */
  async function withGroup<T>(partition: string, fn: () => Promise<T>): Promise<T> {
    await ensureGroup();
    try {
      return await fn();
    } catch (error) {
      if (!String((error as Error).message).includes("NOGROUP")) throw error;
      ready.delete(partition);
      await createGroup(partition);
      return await fn();
    }
  }

  /** Partitions in a rotating order, so no partition is always read last. */
  function inTurn(): string[] {
    rotation = (rotation + 1) % reading.length;
    return [...reading.slice(rotation), ...reading.slice(0, rotation)];
  }

  function split(entryId: string): { partition: string; id: string } {
    const slash = entryId.indexOf("/");
    return { partition: entryId.slice(0, slash), id: entryId.slice(slash + 1) };
  }

  const member = (appId: string, sendId: string) => `${appId}/${sendId}`;

  return {
    /** Creates the consumer group on every partition (idempotent). */
    ensureGroup,

    /** Appends a work item to its app's partition. */
    async push(item: WorkItem): Promise<string> {
      const partition = String(partitionOf(item.appId));
      return `${partition}/${await redis.xadd(streamOf(partition), "*", encode(item))}`;
    },

    /**
     * Records that a send is about to be queued or scheduled. Call it before writing the send,
     * then {@linkcode settle} once the send is written.
     */
    async intend(appId: string, sendId: string, at: number): Promise<void> {
      await redis.zadd(sendKeys.intents(partitionOf(appId)), {
        score: at,
        member: member(appId, sendId),
      });
    },

    /**
     * Settles a send's intent: queues its first resolve step, schedules it, or drops the
     * intent. Only the first settlement acts; returns whether this one did.
     */
    async settle(appId: string, sendId: string, how: Settlement): Promise<boolean> {
      const partition = partitionOf(appId);
      const keys = [sendKeys.intents(partition)];
      const args = [member(appId, sendId)];
      if ("push" in how) {
        keys.push(sendKeys.queue(partition));
        const item: WorkItem = {
          kind: "resolve",
          appId,
          sendId,
          at: { source: 0, cursor: "0", seq: 0 },
        };
        args.push("push", "", ...Object.entries(encode(item)).flat());
      } else if ("scheduleAt" in how) {
        keys.push(sendKeys.scheduled(partition));
        args.push("schedule", String(how.scheduleAt));
      } else {
        keys.push(sendKeys.intents(partition));
        args.push("drop");
      }
      return Number(await settleScript.exec(keys, args)) === 1;
    },

    /** Intents older than `before` (ms): sends whose queue write may have failed. */
    async staleIntents(
      before: number,
      limit: number,
    ): Promise<Array<{ appId: string; sendId: string; since: number }>> {
      const found: Array<{ appId: string; sendId: string; since: number }> = [];
      for (const partition of partitions) {
        const rows = await redis.zrange<string[]>(
          sendKeys.intents(Number(partition)),
          "-inf",
          before,
          { byScore: true, offset: 0, count: limit, withScores: true },
        );
        for (let i = 0; i + 1 < rows.length; i += 2) {
          const [appId, sendId] = String(rows[i]).split("/");
          found.push({ appId, sendId, since: Number(rows[i + 1]) });
        }
      }
      return found.slice(0, limit);
    },

    /** Reads up to `count` new items for `consumer`, from the first partition that has some. */
    async read(consumer: string, count: number): Promise<QueueEntry[]> {
      for (const partition of inTurn()) {
        const reply = await withGroup(
          partition,
          () =>
            redis.xreadgroup(group, consumer, streamOf(partition), ">", { count }) as Promise<
              unknown
            >,
        );
        if (!Array.isArray(reply) || reply.length === 0) continue;
        const [, entries] = reply[0] as [string, unknown[]];
        const parsed = parseEntries(partition, entries);
        if (parsed.length) return parsed;
      }
      return [];
    },

    /** Claims up to `count` items idle for `minIdleMs` (their worker stalled or died). */
    async reclaim(consumer: string, minIdleMs: number, count: number): Promise<QueueEntry[]> {
      for (const partition of inTurn()) {
        const reply = await withGroup(
          partition,
          () =>
            redis.xautoclaim(streamOf(partition), group, consumer, minIdleMs, "0-0", {
              count,
            }) as Promise<unknown>,
        );
        if (!Array.isArray(reply)) continue;
        const parsed = parseEntries(partition, reply[1] as unknown[]);
        if (parsed.length) return parsed;
      }
      return [];
    },

    /** Resets an item's idle time, so a slow but live worker keeps it. */
    async touch(consumer: string, entryId: string): Promise<void> {
      const { partition, id } = split(entryId);
      await redis.xclaim(streamOf(partition), group, consumer, 0, id, { justId: true });
    },

    /** Acknowledges and deletes an item. */
    async ack(entryId: string): Promise<void> {
      const { partition, id } = split(entryId);
      const p = redis.pipeline();
      p.xack(streamOf(partition), group, id);
      p.xdel(streamOf(partition), id);
      await p.exec();
    },

    /** Items in every partition: unread plus read but not yet acknowledged. */
    async length(): Promise<number> {
      let total = 0;
      for (const partition of reading) total += Number(await redis.xlen(streamOf(partition)));
      return total;
    },

    /** Adds a send to its partition's schedule. */
    async schedule(appId: string, sendId: string, at: number): Promise<void> {
      await redis.zadd(sendKeys.scheduled(partitionOf(appId)), {
        score: at,
        member: member(appId, sendId),
      });
    },

    /** Removes a send from the schedule; true when it was there (the caller owns it). */
    async unschedule(appId: string, sendId: string): Promise<boolean> {
      return Number(
        await redis.zrem(sendKeys.scheduled(partitionOf(appId)), member(appId, sendId)),
      ) === 1;
    },

    /**
     * Takes a due send out of the schedule and records the intent to queue it, in one step;
     * true when this caller took it. Settle the intent afterwards.
     */
    async promote(appId: string, sendId: string, now: number): Promise<boolean> {
      const partition = partitionOf(appId);
      return Number(
        await promoteScript.exec(
          [sendKeys.scheduled(partition), sendKeys.intents(partition)],
          [member(appId, sendId), String(now)],
        ),
      ) === 1;
    },

    /** Scheduled sends due at `now`, oldest first within a partition (at most `limit`). */
    async due(now: number, limit: number): Promise<Array<{ appId: string; sendId: string }>> {
      const found: Array<{ appId: string; sendId: string }> = [];
      for (const partition of inTurn()) {
        if (partition === LEGACY || found.length >= limit) continue;
        const members = await redis.zrange<string[]>(
          sendKeys.scheduled(Number(partition)),
          "-inf",
          now,
          { byScore: true, offset: 0, count: limit - found.length },
        );
        for (const m of members.map(String)) {
          const [appId, sendId] = m.split("/");
          found.push({ appId, sendId });
        }
      }
      return found;
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

function parseEntries(partition: string, entries: unknown[]): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (const entry of entries ?? []) {
    if (!Array.isArray(entry)) continue;
    const [id, fields] = entry as [string, unknown[] | null];
    out.push({
      id: `${partition}/${id}`,
      item: Array.isArray(fields) ? decode(toMap(fields)) : null,
    });
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
