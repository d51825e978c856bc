import { buildHeaders, topicFor } from "../../../lib/apns/headers.ts";
import { ValidationFailed } from "../../../lib/errors.ts";
import { assertEquals, assertThrows } from "../../support/assert.ts";

Deno.test("topicFor adds the push type's suffix", () => {
  assertEquals(topicFor("com.e", "alert"), "com.e");
  assertEquals(topicFor("com.e", "voip"), "com.e.voip");
  assertEquals(topicFor("com.e", "complication"), "com.e.complication");
  assertEquals(topicFor("com.e", "fileprovider"), "com.e.pushkit.fileprovider");
  assertEquals(topicFor("com.e", "liveactivity"), "com.e.push-type.liveactivity");
  assertEquals(topicFor("com.e", "pushtotalk"), "com.e.voip-ptt");
  assertEquals(topicFor("com.apple.mgmt.External.x", "mdm"), "com.apple.mgmt.External.x");
});

Deno.test("buildHeaders defaults priority 10 for alert and 5 for background", () => {
  assertEquals(buildHeaders({ bundleId: "com.e", pushType: "alert" }), {
    "apns-push-type": "alert",
    "apns-topic": "com.e",
    "apns-priority": "10",
  });
  assertEquals(buildHeaders({ bundleId: "com.e", pushType: "background" })["apns-priority"], "5");
});

Deno.test("buildHeaders rejects background pushes at priority 10 and unknown priorities", () => {
  assertThrows(
    () => buildHeaders({ bundleId: "com.e", pushType: "background", priority: 10 }),
    ValidationFailed,
  );
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => buildHeaders({ bundleId: "com.e", pushType: "alert", priority: 7 as any }),
    ValidationFailed,
  );
  assertEquals(
    buildHeaders({ bundleId: "com.e", pushType: "alert", priority: 1 })["apns-priority"],
    "1",
  );
});

Deno.test("buildHeaders writes expiration in epoch seconds and bounds the collapse id", () => {
  const h = buildHeaders({
    bundleId: "com.e",
    pushType: "alert",
    expiresAt: new Date("2030-01-01T00:00:00Z"),
    collapseId: "c".repeat(64),
  });
  assertEquals(h["apns-expiration"], String(Date.UTC(2030, 0, 1) / 1000));
  assertEquals(h["apns-collapse-id"], "c".repeat(64));
  assertThrows(
    () => buildHeaders({ bundleId: "com.e", pushType: "alert", collapseId: "é".repeat(33) }),
    ValidationFailed,
  );
});
