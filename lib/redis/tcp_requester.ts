/**
 * An `@upstash/redis` {@linkcode Requester} that runs commands over TCP, so the self-hosted mode
 * has no HTTP hop. Results follow the Upstash REST shapes: `{result}` or `{error}` per command,
 * the Redis error text passed through unchanged (so `Script`'s EVALSHA→EVAL fallback on
 * NOSCRIPT works).
 *
 * Two clients sit under it. One Redis server ({@linkcode createTcpRequester}) is reached over
 * the project's own pipelined RESP connection (`resp/connection.ts`): every request of the SDK
 * path is one command, and ioredis' layers (its Node stream, command objects and reply
 * transformers) cost more CPU than the rest of a registration's own work. A Redis Cluster
 * ({@linkcode createClusterRequester}) is driven by an ioredis `Cluster`, which follows
 * MOVED/ASK redirects, refreshes the slot map and reconnects by itself. Redis' answers that mean
 * "not now" (CLUSTERDOWN, TRYAGAIN, LOADING, MASTERDOWN…) surface as {@linkcode Unavailable},
 * like a lost connection, so the API answers 503 during a failover.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import IORedis, { ReplyError } from "ioredis";
import type { Requester, UpstashRequest, UpstashResponse } from "@upstash/redis";
import { errors as upstashErrors } from "@upstash/redis";
import { REDIS_UNREACHABLE, Unavailable } from "../errors.ts";
import {
  assertOneSlot,
  type Client,
  type Command,
  functionRouter,
  scanRouter,
} from "./_cluster_routing.ts";
import { createDeadlines, type Deadlines } from "./_deadlines.ts";
import { RespConnection } from "./resp/connection.ts";
import { type Reply, RespError } from "./resp/codec.ts";

export { CrossSlotBatch } from "./_cluster_routing.ts";

/** Options for {@linkcode createTcpRequester}. */
export interface TcpRequesterOptions {
  /** Per-command timeout in ms; a command past it fails as `Unavailable`. Default: `5000`. */
  commandTimeoutMs?: number;
  /** TCP connect timeout in ms. Default: `2000`. */
  connectTimeoutMs?: number;
}

/** A TCP requester plus the means to close its connection. */
export interface TcpRequester extends Requester {
  /** Closes the TCP connection (or the cluster's connections). */
  close(): Promise<void>;
}

/**
 * Creates a requester for a `redis://` / `rediss://` URL (`redis://user:password@host:port/db`).
 *
 * Connection failures surface as {@linkcode Unavailable} within about the command timeout;
 * Redis reply errors come back as `{error}` exactly as Redis worded them.
 */
export function createTcpRequester(url: string, options: TcpRequesterOptions = {}): TcpRequester {
  const connection = new RespConnection(url, {
    connectTimeoutMs: options.connectTimeoutMs ?? 2_000,
  });
  const deadlines = createDeadlines(options.commandTimeoutMs ?? 5_000);
  return {
    async close() {
      deadlines.stop();
      await connection.close();
    },
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      const route = req.path?.[0];
      if (!route) {
        let reply: Reply;
        try {
          reply = await deadlines.guard(connection.send(stringArgs(req.body as Command)));
        } catch (error) {
          if (error instanceof RespError && !notNow(error)) return { error: error.message };
          throw unavailable(error);
        }
        return upstashReply(reply) as UpstashResponse<TResult>;
      }
      if (route === "pipeline" || route === "multi-exec") {
        const commands = (req.body as Command[]).map(stringArgs);
        const transaction = route === "multi-exec";
        let replies: Reply[];
        try {
          replies = await deadlines.guard(
            connection.sendAll(transaction ? [["MULTI"], ...commands, ["EXEC"]] : commands),
          );
        } catch (error) {
          if (error instanceof RespError && !notNow(error)) {
            throw new upstashErrors.UpstashError(error.message);
          }
          throw unavailable(error);
        }
        if (!transaction) return replies.map(upstashReply) as UpstashResponse<TResult>;
        const exec = replies[replies.length - 1];
        // EXECABORT and similar: the whole transaction failed, as Upstash reports with a 400.
        if (exec instanceof RespError) {
          if (notNow(exec)) throw unavailable(exec);
          throw new upstashErrors.UpstashError(exec.message);
        }
        if (!Array.isArray(exec)) {
          throw new upstashErrors.UpstashError("EXECABORT transaction discarded");
        }
        return exec.map(upstashReply) as UpstashResponse<TResult>;
      }
      throw new upstashErrors.UpstashError(`unsupported path: /${req.path?.join("/")}`);
    },
  };
}

function stringArgs(command: Command): string[] {
  const out = new Array<string>(command.length);
  for (let i = 0; i < command.length; i++) out[i] = String(command[i]);
  return out;
}

/** One reply in the Upstash shape; an error reply that means "not now" is an outage. */
function upstashReply(reply: Reply): UpstashResponse<unknown> {
  if (reply instanceof RespError) {
    if (notNow(reply)) throw unavailable(reply);
    return { error: reply.message };
  }
  return { result: reply };
}

/**
 * Creates a requester for a Redis Cluster, from seed URLs (`redis://` / `rediss://`, with
 * credentials in the URL; the first URL's credentials and TLS apply to every node). Pipelines
 * and transactions must stay within one slot: {@linkcode CrossSlotBatch} otherwise.
 */
export function createClusterRequester(
  seeds: string[],
  options: TcpRequesterOptions = {},
): TcpRequester {
  if (seeds.length === 0) throw new Error("a cluster needs at least one seed URL");
  const first = new URL(seeds[0]);
  const client = new IORedis.Cluster(
    seeds.map((seed) => {
      const url = new URL(seed);
      return { host: url.hostname, port: Number(url.port || 6379) };
    }),
    {
      redisOptions: {
        username: decodeURIComponent(first.username) || undefined,
        password: decodeURIComponent(first.password) || undefined,
        tls: first.protocol === "rediss:" ? {} : undefined,
        connectTimeout: options.connectTimeoutMs ?? 2_000,
        maxRetriesPerRequest: 1,
      },
      // Managed clusters announce hostnames whose certificates must match: no DNS rewrite.
      dnsLookup: (address, callback) => callback(null, address),
      scaleReads: "master",
      maxRedirections: 16,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 100,
      clusterRetryStrategy: (times: number) => Math.min(times * 100, 1_000),
      slotsRefreshTimeout: 2_000,
      enableAutoPipelining: false,
      lazyConnect: false,
    },
  );
  // ioredis emits connection errors as events; without a listener they would crash the process.
  client.on("error", () => {});
  const deadlines = createDeadlines(options.commandTimeoutMs ?? 5_000);
  let corked: { uncork(): void } | null = null;
  const uncork = () => {
    const stream = corked;
    corked = null;
    stream?.uncork();
  };
  // Commands issued until the event loop's check phase leave in one write per node (as the
  // RESP connection does for one server).
  function coalesceWrites() {
    const stream = (client as unknown as { stream?: { cork(): void; uncork(): void } }).stream;
    if (corked || !stream || client.status !== "ready") return;
    stream.cork();
    corked = stream;
    setImmediate(uncork);
  }

  return {
    async close() {
      client.disconnect();
      deadlines.stop();
      await Promise.resolve();
    },
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      coalesceWrites();
      const route = req.path?.[0];
      if (!route) {
        const command = req.body as Command;
        const name = String(command[0]).toLowerCase();
        if (name === "scan") {
          return await single<TResult>(scanRouter(client), deadlines, command);
        }
        if (name === "function") {
          return await single<TResult>(functionRouter(client), deadlines, command);
        }
        return await single<TResult>(client, deadlines, command);
      }
      if (route === "pipeline" || route === "multi-exec") {
        const commands = req.body as Command[];
        assertOneSlot(commands, route);
        return await batch(
          client,
          deadlines,
          commands,
          route === "multi-exec",
        ) as UpstashResponse<TResult>;
      }
      throw new upstashErrors.UpstashError(`unsupported path: /${req.path?.join("/")}`);
    },
  };
}

async function single<TResult>(
  client: Pick<Client, "call">,
  deadlines: Deadlines,
  command: Command,
): Promise<UpstashResponse<TResult>> {
  const [name, ...args] = command;
  try {
    const result = await deadlines.guard(client.call(String(name), ...args.map(String)));
    return { result: upstashShape(String(name), result) as TResult };
  } catch (error) {
    if (isReplyError(error) && !notNow(error)) return { error: error.message };
    throw unavailable(error);
  }
}

async function batch(
  client: Client,
  deadlines: Deadlines,
  commands: Command[],
  transaction: boolean,
): Promise<UpstashResponse<unknown>[]> {
  const chain = transaction ? client.multi() : client.pipeline();
  for (const [name, ...args] of commands) chain.call(String(name), ...args.map(String));
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await deadlines.guard(chain.exec());
  } catch (error) {
    // EXECABORT and similar: the whole transaction failed, as Upstash reports with a 400.
    if (isReplyError(error) && !notNow(error)) throw new upstashErrors.UpstashError(error.message);
    throw unavailable(error);
  }
  if (replies === null) throw new upstashErrors.UpstashError("EXECABORT transaction discarded");
  return replies.map(([error, result], i) => {
    if (!error) return { result: upstashShape(String(commands[i][0]), result) };
    if (isReplyError(error) && !notNow(error)) return { error: error.message };
    throw unavailable(error);
  });
}

/**
 * The reply as the Upstash REST API words it. ioredis turns every HGETALL reply into an object
 * (a reply transformer keyed on the command name); Upstash, and so the REST gateway that relays
 * these results, answers with the flat `[field, value, …]` array Redis sent.
 */
function upstashShape(name: string, result: unknown): unknown {
  if (
    name.toLowerCase() === "hgetall" && result !== null && typeof result === "object" &&
    !Array.isArray(result) && !(result instanceof Uint8Array)
  ) {
    return Object.entries(result).flat().map(normalize);
  }
  return normalize(result);
}

/** ioredis returns Buffers only for binary commands; Upstash gives strings everywhere. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (value === undefined) return null;
  return value;
}

/** Redis' own error reply ("ERR …", "WRONGTYPE …"), as opposed to a lost connection. */
function isReplyError(error: unknown): error is Error {
  return error instanceof (ReplyError as ErrorConstructor);
}

/**
 * Redis' answers that mean "this node cannot serve the command right now": a cluster without a
 * master for the slot (CLUSTERDOWN), a slot being moved (TRYAGAIN, or redirects ioredis gave up
 * following), a replica still loading or cut off from its master. They are outages, not bugs.
 */
function notNow(error: Error): boolean {
  return /^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK|LOADING|MASTERDOWN|READONLY)\b/.test(error.message) ||
    /EXECABORT.*(CLUSTERDOWN|TRYAGAIN|MOVED|ASK)/.test(error.message);
}

function unavailable(error: unknown): Unavailable {
  return new Unavailable(REDIS_UNREACHABLE, { cause: error });
}
