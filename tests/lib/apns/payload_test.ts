import { buildPayload, NotificationSchema } from "../../../lib/apns/payload.ts";
import { ValidationFailed } from "../../../lib/errors.ts";
import { assertEquals, assertOk, assertThrows } from "../../support/assert.ts";

Deno.test("buildPayload renders alert fields into aps and url/image at top level", () => {
  const { body, size } = buildPayload({
    pushType: "alert",
    notification: {
      title: "Hi",
      subtitle: "there",
      body: "Body",
      badge: 3,
      sound: "default",
      image: "https://cdn.example.com/a.png",
      url: "https://example.com/landing",
      category: "promo",
      threadId: "t1",
      interruptionLevel: "time-sensitive",
      relevanceScore: 0.5,
      data: { campaign: "x", n: 1 },
    },
  });
  assertEquals(JSON.parse(body), {
    aps: {
      alert: { title: "Hi", subtitle: "there", body: "Body" },
      badge: 3,
      sound: "default",
      category: "promo",
      "thread-id": "t1",
      "interruption-level": "time-sensitive",
      "relevance-score": 0.5,
      "mutable-content": 1,
    },
    image: "https://cdn.example.com/a.png",
    url: "https://example.com/landing",
    campaign: "x",
    n: 1,
  });
  assertEquals(size, new TextEncoder().encode(body).byteLength);
});

Deno.test("buildPayload renders background pushes as content-available plus data only", () => {
  const { body } = buildPayload({
    pushType: "background",
    notification: { data: { k: "v" } },
    aps: { "content-available": 1 },
  });
  assertEquals(JSON.parse(body), { aps: { "content-available": 1 }, k: "v" });
});

Deno.test("buildPayload refuses alert content in a background push instead of dropping it", () => {
  const error = assertThrows(
    () =>
      buildPayload({
        pushType: "background",
        notification: { title: "seen?", data: { k: "v" } },
        aps: { sound: "x" },
      }),
    ValidationFailed,
  ) as ValidationFailed;
  assertOk(error.message.includes("notification.title, aps.sound"), error.message);
  assertEquals(error.details.map((d) => (d as { path: string[] }).path), [
    ["notification", "title"],
    ["aps", "sound"],
  ]);
});

Deno.test("buildPayload refuses an alert push with nothing to show; a badge alone is enough", () => {
  assertThrows(() => buildPayload({ pushType: "alert", notification: {} }), ValidationFailed);
  assertThrows(
    () => buildPayload({ pushType: "alert", notification: { data: { k: 1 } } }),
    ValidationFailed,
  );
  assertEquals(JSON.parse(buildPayload({ pushType: "alert", notification: { badge: 0 } }).body), {
    aps: { badge: 0 },
  });
  // Other push types carry their content elsewhere (MDM's top-level "mdm", for one).
  assertEquals(
    JSON.parse(buildPayload({ pushType: "mdm", notification: { data: { mdm: "magic" } } }).body),
    { aps: {}, mdm: "magic" },
  );
});

Deno.test("buildPayload merges a raw aps over the notification's", () => {
  const { body } = buildPayload({
    pushType: "liveactivity",
    aps: { event: "update", "content-state": { score: 1 }, timestamp: 1 },
  });
  assertEquals(JSON.parse(body).aps.event, "update");
});

Deno.test("buildPayload enforces 4096 bytes, measured in UTF-8, with size and limit in details", () => {
  // 2-byte characters: fits as characters, not as bytes.
  const body = "é".repeat(2100);
  const error = assertThrows(
    () => buildPayload({ pushType: "alert", notification: { body } }),
    ValidationFailed,
  ) as ValidationFailed;
  const [detail] = error.details as Array<{ size: number; limit: number }>;
  assertEquals(detail.limit, 4096);
  assertOk(detail.size > 4096);
});

Deno.test("buildPayload allows 5120 bytes for voip", () => {
  const body = "x".repeat(4500);
  buildPayload({ pushType: "voip", notification: { body } });
  assertThrows(() => buildPayload({ pushType: "alert", notification: { body } }), ValidationFailed);
  assertThrows(
    () => buildPayload({ pushType: "voip", notification: { body: "x".repeat(5200) } }),
    ValidationFailed,
  );
});

Deno.test("buildPayload rejects extra keys that collide with relay keys", () => {
  assertThrows(
    () =>
      buildPayload({
        pushType: "alert",
        notification: { url: "https://e.com" },
        extra: { url: "x" },
      }),
    ValidationFailed,
  );
});

Deno.test("NotificationSchema is strict and checks image, levels, score and data keys", () => {
  assertOk(NotificationSchema.safeParse({ title: "a", image: "https://x.io/i.png" }).success);
  assertOk(!NotificationSchema.safeParse({ title: "a", extra: 1 }).success);
  assertOk(!NotificationSchema.safeParse({ image: "http://x.io/i.png" }).success);
  assertOk(!NotificationSchema.safeParse({ interruptionLevel: "loud" }).success);
  assertOk(!NotificationSchema.safeParse({ relevanceScore: 1.5 }).success);
  assertOk(!NotificationSchema.safeParse({ data: { aps: 1 } }).success);
  assertOk(NotificationSchema.safeParse({ url: "myapp://deep/link", data: { a: [1] } }).success);
});
