/**
 * Process-wide configuration, parsed once from the environment by main.ts with a zod schema.
 * Nothing else reads `Deno.env`.
 *
 * @module
 */
import { z } from "zod";
import { APPLE_HOSTS, bareHostPort } from "./apns/hosts.ts";
import { parseRateRule, type SdkRateLimits } from "./ratelimit/mod.ts";

const hostPort = z.string()
  .transform(bareHostPort)
  .pipe(
    z.string().regex(
      /^[A-Za-z0-9.-]+(:\d{1,5})?$/,
      "expected host, host:port or https://host:port",
    ),
  );
const rateRule = z.string().refine((text) => {
  try {
    parseRateRule(text);
    return true;
  } catch {
    return false;
  }
}, "expected <requests>/<seconds>s with both ≥ 1 (e.g. 120/60s), or off");
const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The environment variables edgepush understands, with their defaults. */
export const ConfigSchema = z.object({
  PORT: intFrom(0, 65535).default(8000),
  DATA_DIR: z.string().min(1).default("./.data"),
  ADMIN_TOKEN: z.string().min(16, "ADMIN_TOKEN must be at least 16 characters").optional(),
  MASTER_KEY: z.string().optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "REDIS_URL must start with redis:// or rediss://")
    .optional(),
  REDIS_CLUSTER_NODES: z.string()
    .transform((list) => list.split(",").map((seed) => seed.trim()).filter(Boolean))
    .pipe(
      z.array(
        z.string().regex(
          /^rediss?:\/\/[^/\s]+$/,
          "each seed must be redis://[user:password@]host:port or rediss://…",
        ),
      ).min(1, "list at least one redis:// seed URL"),
    )
    .optional(),
  UPSTASH_REDIS_REST_URL: z.url().optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
  APNS_HOST_PRODUCTION: hostPort.default(APPLE_HOSTS.production),
  APNS_HOST_DEVELOPMENT: hostPort.default(APPLE_HOSTS.development),
  APNS_CA_FILE: z.string().optional(),
  // Two sessions keep both ends busy (one is parsed while the other's answers are in flight):
  // +40% throughput against the mock at the same CPU per notification (tests/bench/send_bench.ts).
  APNS_CONNECTIONS: intFrom(1, 64).default(2),
  // APNs does not document how long it keeps an idle connection; closing ours first means an
  // idle one never receives APNs' GOAWAY. 0 keeps connections open (PINGed) indefinitely.
  APNS_IDLE_CLOSE_SECONDS: intFrom(0, 86_400).default(600),
  WORKERS: intFrom(0, 64).default(1),
  SEND_UNCERTAIN: z.enum(["skip", "resend"]).default("skip"),
  SEGMENT_SYNC_CRON: z.string().default("0 3 * * *"),
  STALE_AFTER_DAYS: intFrom(1, 3650).default(270),
  // Until 2026-12 one limit per app and client address; now two scopes (lib/ratelimit). A value
  // meant for the old one must not silently mean something else.
  SDK_RATE_LIMIT: z.string().optional().refine((v) => v === undefined, {
    message: "SDK_RATE_LIMIT is replaced by SDK_RATE_LIMIT_INSTALLATION (calls on one " +
      "installation) and SDK_RATE_LIMIT_ADDRESS (new registrations per client address); " +
      "set those instead (README: Configuration)",
  }),
  // Sized for carrier-grade NAT: carriers share one public IPv4 address among up to about a
  // thousand subscribers (port blocks of 64+ out of ~64k ports), and campuses or a launch-day
  // burst do the same. 10,000 first registrations a minute is ten per subscriber of the most
  // crowded address, yet one host still cannot mint installations without bound.
  SDK_RATE_LIMIT_ADDRESS: rateRule.default("10000/60s"),
  SDK_RATE_LIMIT_INSTALLATION: rateRule.default("120/60s"),
  SDK_RATE_LIMIT_ENABLED: z.enum(["true", "false"]).default("true"),
  TRUSTED_PROXY_HOPS: intFrom(0, 16).default(0),
  APP_CACHE_TTL_MS: intFrom(0, 60_000).default(2_000),
  REDIS_HTTP_TOKEN: z.string().optional(),
  REDIS_HTTP_PORT: intFrom(0, 65535).default(8079),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
}).refine((c) => !c.UPSTASH_REDIS_REST_URL === !c.UPSTASH_REDIS_REST_TOKEN, {
  message: "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set together",
}).refine((c) => !(c.REDIS_URL && c.REDIS_CLUSTER_NODES), {
  message: "set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster's seed URLs), " +
    "not both",
  path: ["REDIS_CLUSTER_NODES"],
});

/** Parsed configuration. */
export type Config = z.infer<typeof ConfigSchema>;

/** The way this process reaches Redis, derived from the configuration. */
export type RedisMode = "rest" | "tcp" | "cluster" | "embedded";

/** Thrown with a readable, multi-line message when the environment is invalid. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment. @throws {ConfigError} listing every invalid variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = ConfigSchema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")),
  );
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) =>
    `  ${issue.path.join(".") || "config"}: ${issue.message}`
  );
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}

/**
 * Which Redis mode the configuration selects: REST wins over TCP and cluster, embedded is the
 * default.
 */
export function redisMode(config: Config): RedisMode {
  if (config.UPSTASH_REDIS_REST_URL) return "rest";
  if (config.REDIS_URL) return "tcp";
  if (config.REDIS_CLUSTER_NODES) return "cluster";
  return "embedded";
}

/**
 * The SDK rate limits from `SDK_RATE_LIMIT_ADDRESS` / `SDK_RATE_LIMIT_INSTALLATION` (validated
 * by {@linkcode parseConfig}); null when `SDK_RATE_LIMIT_ENABLED=false`.
 */
export function sdkRateLimits(config: Config): SdkRateLimits | null {
  if (config.SDK_RATE_LIMIT_ENABLED === "false") return null;
  return {
    address: parseRateRule(config.SDK_RATE_LIMIT_ADDRESS),
    installation: parseRateRule(config.SDK_RATE_LIMIT_INSTALLATION),
  };
}

/**
 * The service settings a configuration gives (everything `createServices` takes besides
 * clients): main.ts (through lib/runtime/boot.ts) and the standalone worker
 * (jobs/send_worker.ts) build theirs from it.
 */
export function serviceSettings(config: Config, caPem?: string) {
  return {
    apns: {
      productionHost: config.APNS_HOST_PRODUCTION,
      developmentHost: config.APNS_HOST_DEVELOPMENT,
      caPem,
      connections: config.APNS_CONNECTIONS,
      idleCloseMs: config.APNS_IDLE_CLOSE_SECONDS * 1000,
    },
    sdkRateLimit: sdkRateLimits(config),
    appCacheTtlMs: config.APP_CACHE_TTL_MS,
    staleAfterDays: config.STALE_AFTER_DAYS,
    sendUncertain: config.SEND_UNCERTAIN,
  };
}
