/**
 * Builds the one `@upstash/redis` `Redis` instance that all domain code uses, whichever way it
 * reaches Redis: the stock HTTP client (Upstash or our REST gateway) or the TCP requester.
 *
 * @module
 */
import { errors as upstashErrors, Redis, type Requester } from "@upstash/redis";
import { Unavailable } from "../errors.ts";
import { createTcpRequester, type TcpRequester } from "./tcp_requester.ts";

/** How to reach Redis. */
export type RedisTarget =
  | { kind: "rest"; url: string; token: string }
  | { kind: "tcp"; url: string };

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
 * Both modes turn automatic deserialization off: a userId "123" must stay a string. Network
 * failures become {@linkcode Unavailable} so the API answers 503 instead of crashing or hanging.
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
    return { redis, close: () => Promise.resolve() };
  }
  const requester = createTcpRequester(target.url);
  return { redis: new RequesterRedis(requester), close: () => requester.close() };
}

/** A `Redis` over a custom requester, with automatic deserialization off like the HTTP mode. */
class RequesterRedis extends Redis {
  constructor(requester: TcpRequester) {
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
        if (error instanceof upstashErrors.UpstashError) throw error;
        const message = error instanceof Error ? error.message : String(error);
        throw new Unavailable(`redis is unreachable: ${message}`, { cause: error });
      }
    },
  };
}
