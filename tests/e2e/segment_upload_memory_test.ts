import { assertEquals, assertOk } from "../support/assert.ts";
import { startEdgepush } from "../support/edgepush_process.ts";
import { generateApnsKey } from "../support/harness.ts";
import { startTestRedis } from "../support/redis_server.ts";
import { segmentKeys } from "../../lib/segments/_keys.ts";

// Measured on the server's own process: the test runner's RSS also holds every other test file
// running in parallel, so it cannot tell a streamed upload from a buffered one.
Deno.test("a streamed 1,000,000-id member upload keeps the server's RSS bounded", async () => {
  const redis = await startTestRedis();
  // A 48 MB V8 heap: an upload buffered in memory would not fit and the server would crash.
  const server = await startEdgepush(redis.url, {}, ["--v8-flags=--max-old-space-size=48"]);
  try {
    const key = await generateApnsKey();
    const created = await fetch(`${server.url}/v1/apps`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "Big",
        bundleId: "com.example.big",
        apns: { teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKeyPem },
      }),
    });
    assertEquals(created.status, 201);
    const { appId, serverKey } = await created.json();
    const auth = { authorization: `Bearer ${serverKey}` };
    const base = `${server.url}/v1/apps/${appId}/segments/big`;
    const put = await fetch(base, {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ name: "Big" }),
    });
    assertEquals(put.status, 201);
    await put.body?.cancel();

    const total = 1_000_000;
    const encoder = new TextEncoder();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= total) return controller.close();
        const n = Math.min(10_000, total - sent);
        let chunk = "";
        for (let i = 0; i < n; i++) chunk += `user-${sent + i}\n`;
        sent += n;
        controller.enqueue(encoder.encode(chunk));
      },
    });
    const before = await server.memory();
    const res = await fetch(`${base}/members?mode=replace`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/plain" },
      body,
    });
    assertEquals(await res.json(), { added: total, removed: 0, members: total });
    assertEquals(await redis.redis.scard(segmentKeys.members(appId, "big")), total);
    const after = await server.memory();
    // The ids alone are ~12 MB; buffering them as JS strings and arrays would cost several
    // times that. A streamed upload holds one batch at a time.
    const growthMb = (after.peak - before.rss) / 1e6;
    console.log(
      `1M-id upload: server RSS before ${(before.rss / 1e6).toFixed(1)} MB, ` +
        `peak ${(after.peak / 1e6).toFixed(1)} MB (+${growthMb.toFixed(1)} MB)`,
    );
    assertOk(growthMb < 100, `server RSS grew by ${growthMb.toFixed(1)} MB`);
  } finally {
    await server.stop();
    await redis.stop();
  }
});
