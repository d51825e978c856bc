import { ConfigError, parseConfig } from "../../lib/config.ts";
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
