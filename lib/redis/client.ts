/**
 * Builds the one `@upstash/redis` `Redis` instance that all domain code uses, whichever way it
 * reaches Redis: the stock HTTP client (Upstash or our REST gateway) or the TCP requester.
 *
 * @module
 */
import {
  errors as upstashErrors,
  Redis,
  type Requester,
  type UpstashRequest,
  type UpstashResponse,
} from "@upstash/redis";
import { REDIS_UNREACHABLE, Unavailable } from "../errors.ts";
import { withUpstashScriptFlags } from "./script_flags.ts";
import { createClusterRequester, createTcpRequester } from "./tcp_requester.ts";

/** How to reach Redis. */
export type RedisTarget =
  | { kind: "rest"; url: string; token: string }
  | { kind: "tcp"; url: string }
  | { kind: "cluster"; nodes: string[] };

/** A Redis handle and the means to release it. */
export interface RedisHandle {
  /** The client for domain code. Strings come back as strings (no automatic JSON parsing). */
  redis: Redis;
  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * Creates the `Redis` instance for a target.
 *
 * Both modes turn automatic deserialization off: a userId "123" must stay a string. HGETALL
 * still comes back as an object in both (see {@linkcode hashesAsObjects}). Network failures
 * become {@linkcode Unavailable} so the API answers 503 instead of crashing or hanging.
 */
export function createRedis(target: RedisTarget): RedisHandle {
  if (target.kind === "rest") {
    const redis = new Redis({
      url: target.url,
      token: target.token,
      automaticDeserialization: false,
      enableTelemetry: false,
      enableAutoPipelining: false,
      retry: { retries: 1, backoff: () => 50 },
    });
    guardNetworkErrors(redis);
    const holder = redis as unknown as { client: Requester };
    holder.client = hashesAsObjects(holder.client);
    return { redis, close: () => Promise.resolve() };
  }
  const requester = target.kind === "cluster"
    ? createClusterRequester(target.nodes)
    : createTcpRequester(target.url);
  return {
    // Redis refuses Upstash's script flags; the stock clients (ratelimit's scripts) send them.
    redis: new RequesterRedis(hashesAsObjects(withUpstashScriptFlags(requester))),
    close: () => requester.close(),
  };
}

/** A `Redis` over a custom requester, with automatic deserialization off like the HTTP mode. */
class RequesterRedis extends Redis {
  constructor(requester: Requester) {
    super(requester);
    this.opts = { automaticDeserialization: false };
  }
}

function guardNetworkErrors(redis: Redis): void {
  const holder = redis as unknown as { client: Requester };
  const inner = holder.client;
  holder.client = {
    get readYourWrites() {
      return inner.readYourWrites;
    },
    get upstashSyncToken() {
      return inner.upstashSyncToken;
    },
    set upstashSyncToken(token) {
      inner.upstashSyncToken = token;
    },
    async request(req) {
      try {
        return await inner.request(req);
      } catch (error) {
        if (error instanceof upstashErrors.UpstashError && !serverCannotReachRedis(error)) {
          throw error;
        }
        throw new Unavailable(REDIS_UNREACHABLE, { cause: error });
      }
    },
  };
}

/**
 * The stock client turns every non-2xx answer into an `UpstashError`, so a REST endpoint that
 * cannot reach its Redis is told apart by its answer: our gateway's 500 carries the TCP
 * requester's {@linkcode REDIS_UNREACHABLE}, and a body that is not JSON is a proxy's error page.
 * Redis' own errors ("ERR …", "WRONGTYPE …", "NOSCRIPT …") stay `UpstashError`s.
 */
function serverCannotReachRedis(error: Error): boolean {
  return error instanceof upstashErrors.UpstashJSONParseError ||
    error.message.startsWith(REDIS_UNREACHABLE);
}

/**
 * With automatic deserialization off, `@upstash/redis` hands HGETALL's reply through as Redis
 * sent it: a flat `[field, value, …]` array (the Upstash REST shape, which the TCP requester
 * follows too). Domain code reads hashes as objects, so both modes turn that reply into one
 * here, in single commands, pipelines and transactions alike (`{}` for a missing key).
 */
function hashesAsObjects(inner: Requester): Requester {
  return {
    get readYourWrites() {
      return inner.readYourWrites;
    },
    get upstashSyncToken() {
      return inner.upstashSyncToken;
    },
    set upstashSyncToken(token) {
      inner.upstashSyncToken = token;
    },
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      const reply = await inner.request<TResult>(req);
      const route = req.path?.[0];
      if ((route === "pipeline" || route === "multi-exec") && Array.isArray(reply)) {
        const commands = req.body as unknown[][];
        return reply.map((r, i) => hashObject(commands[i], r)) as unknown as UpstashResponse<
          TResult
        >;
      }
      return hashObject(req.body as unknown[], reply);
    },
  };
}

function hashObject<T>(command: unknown[] | undefined, reply: UpstashResponse<T>) {
  const result = reply?.result as unknown;
  if (String(command?.[0]).toLowerCase() !== "hgetall" || !Array.isArray(result)) return reply;
  const entries: [string, unknown][] = [];
  for (let i = 0; i + 1 < result.length; i += 2) entries.push([String(result[i]), result[i + 1]]);
  return { ...reply, result: Object.fromEntries(entries) as T };
}
