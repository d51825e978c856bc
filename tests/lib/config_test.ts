import { ConfigError, parseConfig, redisMode, sdkRateLimits } from "../../lib/config.ts";
import { assertEquals, assertThrows } from "../support/assert.ts";

Deno.test("parseConfig reads APNs hosts as host, host:port or an https URL, and names a bad one", () => {
  const config = parseConfig({
    APNS_HOST_PRODUCTION: "https://localhost:2197/",
    APNS_HOST_DEVELOPMENT: "mock.local:2198",
  });
  assertEquals(config.APNS_HOST_PRODUCTION, "localhost:2197");
  assertEquals(config.APNS_HOST_DEVELOPMENT, "mock.local:2198");
  assertEquals(parseConfig({}).APNS_HOST_PRODUCTION, "api.push.apple.com:443");
  assertThrows(
    () => parseConfig({ APNS_HOST_PRODUCTION: "http://localhost:2197" }),
    ConfigError,
    "APNS_HOST_PRODUCTION",
  );
});

Deno.test("sdkRateLimits: installation 120/60s and address 10000/60s by default, tunable or off", () => {
  assertEquals(sdkRateLimits(parseConfig({})), {
    address: { limit: 10_000, windowSeconds: 60 },
    installation: { limit: 120, windowSeconds: 60 },
  });
  assertEquals(
    sdkRateLimits(
      parseConfig({ SDK_RATE_LIMIT_ADDRESS: "off", SDK_RATE_LIMIT_INSTALLATION: "5/1s" }),
    ),
    { address: null, installation: { limit: 5, windowSeconds: 1 } },
  );
  assertEquals(sdkRateLimits(parseConfig({ SDK_RATE_LIMIT_ENABLED: "false" })), null);
  assertThrows(() => parseConfig({ SDK_RATE_LIMIT_ADDRESS: "0/60s" }), ConfigError, "ADDRESS");
  // The old variable meant one limit per address; it is refused, naming its replacements.
  assertThrows(
    () => parseConfig({ SDK_RATE_LIMIT: "120/60s" }),
    ConfigError,
    "SDK_RATE_LIMIT_INSTALLATION",
  );
});

Deno.test("APNS_IDLE_CLOSE_SECONDS defaults to 600, takes 0 (never) and refuses a non-number", () => {
  assertEquals(parseConfig({}).APNS_IDLE_CLOSE_SECONDS, 600);
  assertEquals(parseConfig({ APNS_IDLE_CLOSE_SECONDS: "0" }).APNS_IDLE_CLOSE_SECONDS, 0);
  assertThrows(
    () => parseConfig({ APNS_IDLE_CLOSE_SECONDS: "ten" }),
    ConfigError,
    "APNS_IDLE_CLOSE_SECONDS",
  );
});

Deno.test("parseConfig reads REDIS_CLUSTER_NODES as seed URLs and refuses it beside REDIS_URL", () => {
  const config = parseConfig({
    REDIS_CLUSTER_NODES: "redis://10.0.0.1:7000, rediss://user:pw@10.0.0.2:7001",
  });
  assertEquals(config.REDIS_CLUSTER_NODES, [
    "redis://10.0.0.1:7000",
    "rediss://user:pw@10.0.0.2:7001",
  ]);
  assertEquals(redisMode(config), "cluster");
  assertThrows(
    () =>
      parseConfig({ REDIS_URL: "redis://a:6379", REDIS_CLUSTER_NODES: "redis://10.0.0.1:7000" }),
    ConfigError,
    "set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster's seed URLs), not both",
  );
  assertThrows(
    () => parseConfig({ REDIS_CLUSTER_NODES: "http://10.0.0.1:7000" }),
    ConfigError,
    "REDIS_CLUSTER_NODES",
  );
});
