/**
 * An `@upstash/redis` {@linkcode Requester} that runs commands over TCP with ioredis, so the
 * self-hosted mode has no HTTP hop. Results follow the Upstash REST shapes: `{result}` or
 * `{error}` per command, the Redis error text passed through unchanged (so `Script`'s
 * EVALSHA→EVAL fallback on NOSCRIPT works).
 *
 * @module
 */
import process from "node:process";
import IORedis, { ReplyError } from "ioredis";
import type { Requester, UpstashRequest, UpstashResponse } from "@upstash/redis";
import { errors as upstashErrors } from "@upstash/redis";
import { REDIS_UNREACHABLE, Unavailable } from "../errors.ts";

/** Options for {@linkcode createTcpRequester}. */
export interface TcpRequesterOptions {
  /** Per-command timeout in ms; a command past it fails as `Unavailable`. Default: `5000`. */
  commandTimeoutMs?: number;
  /** TCP connect timeout in ms. Default: `2000`. */
  connectTimeoutMs?: number;
}

/** A TCP requester plus the means to close its connection. */
export interface TcpRequester extends Requester {
  /** Closes the TCP connection. */
  close(): Promise<void>;
  /** The underlying ioredis client, for commands the REST gateway forwards verbatim. */
  readonly client: IORedis.default;
}

type Command = [string, ...unknown[]];

/**
 * Creates a requester for `redis://` / `rediss://` URLs.
 *
 * Connection failures surface as {@linkcode Unavailable} within about the command timeout;
 * Redis reply errors come back as `{error}` exactly as Redis worded them.
 */
export function createTcpRequester(url: string, options: TcpRequesterOptions = {}): TcpRequester {
  const client = new IORedis.default(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    // No per-command timer in ioredis (a Node timer per command is costly under Deno): the
    // deadline is enforced by `deadlines` below.
    retryStrategy: (times: number) => Math.min(times * 100, 1_000),
    enableAutoPipelining: false,
    lazyConnect: false,
  });
  // ioredis emits connection errors as events; without a listener they would crash the process.
  client.on("error", () => {});
  const deadlines = createDeadlines(options.commandTimeoutMs ?? 5_000);
  let corked: { uncork(): void } | null = null;
  const uncork = () => {
    const stream = corked;
    corked = null;
    stream?.uncork();
  };
  function coalesceWrites() {
    const stream = (client as unknown as { stream?: { cork(): void; uncork(): void } }).stream;
    if (corked || !stream || client.status !== "ready") return;
    stream.cork();
    corked = stream;
    process.nextTick(uncork);
  }

  return {
    client,
    async close() {
      client.disconnect();
      deadlines.stop();
      await Promise.resolve();
    },
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      coalesceWrites();
      const route = req.path?.[0];
      if (!route) return await single<TResult>(client, deadlines, req.body as Command);
      if (route === "pipeline" || route === "multi-exec") {
        return await batch(
          client,
          deadlines,
          req.body as Command[],
          route === "multi-exec",
        ) as UpstashResponse<
          TResult
        >;
      }
      throw new upstashErrors.UpstashError(`unsupported path: /${req.path?.join("/")}`);
    },
  };
}

/**
 * Command deadlines without a timer per command: pending commands sit in a set that one
 * interval sweeps every `timeoutMs / 10` (at most 100 ms), so a command fails with "Command
 * timed out" between `timeoutMs` and about 10% later. The interval runs only while commands
 * are pending and never keeps the process alive.
 */
interface Deadlines {
  /** `promise`, or a rejection once `timeoutMs` has passed without it settling. */
  guard<T>(promise: Promise<T>): Promise<T>;
  stop(): void;
}

function createDeadlines(timeoutMs: number): Deadlines {
  type Entry = { at: number; reject: (error: Error) => void };
  const pending = new Set<Entry>();
  const every = Math.max(1, Math.min(100, Math.floor(timeoutMs / 10)));
  let timer: ReturnType<typeof setInterval> | undefined;
  const sweep = () => {
    const now = performance.now();
    for (const entry of pending) {
      if (entry.at <= now) {
        pending.delete(entry);
        entry.reject(new Error("Command timed out"));
      }
    }
    if (pending.size === 0) stop();
  };
  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  return {
    guard<T>(promise: Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const entry: Entry = { at: performance.now() + timeoutMs, reject };
        pending.add(entry);
        if (timer === undefined) {
          const id = setInterval(sweep, every);
          Deno.unrefTimer(id);
          timer = id;
        }
        promise.then((value) => {
          pending.delete(entry);
          resolve(value);
        }, (error) => {
          pending.delete(entry);
          reject(error);
        });
      });
    },
    stop,
  };
}

async function single<TResult>(
  client: IORedis.default,
  deadlines: Deadlines,
  command: Command,
): Promise<UpstashResponse<TResult>> {
  const [name, ...args] = command;
  try {
    const result = await deadlines.guard(client.call(String(name), ...args.map(String)));
    return { result: upstashShape(String(name), result) as TResult };
  } catch (error) {
    if (isReplyError(error)) return { error: error.message };
    throw unavailable(error);
  }
}

async function batch(
  client: IORedis.default,
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
    if (isReplyError(error)) throw new upstashErrors.UpstashError(error.message);
    throw unavailable(error);
  }
  if (replies === null) throw new upstashErrors.UpstashError("EXECABORT transaction discarded");
  return replies.map(([error, result], i) => {
    if (!error) return { result: upstashShape(String(commands[i][0]), result) };
    if (isReplyError(error)) return { error: error.message };
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

function unavailable(error: unknown): Unavailable {
  return new Unavailable(REDIS_UNREACHABLE, { cause: error });
}
