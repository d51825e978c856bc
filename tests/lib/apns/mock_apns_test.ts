import http2 from "node:http2";
import { assertEquals, assertOk, assertRejects } from "../../support/assert.ts";
import { startMockApns } from "../../support/mock_apns.ts";
import { generateApnsKey } from "../../support/mock_apns_keys.ts";
import { findNode } from "../../support/mock_apns_link.ts";
import { waitFor } from "../../support/redis_server.ts";

const TOKEN = "c".repeat(64);

function post(host: string, caPem: string, headers: Record<string, string>, body = "{}") {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const session = http2.connect(`https://${host}`, { ca: caPem });
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": `/3/device/${TOKEN}`, ...headers });
    let status = 0;
    let text = "";
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", (c) => (text += c));
    req.on("close", () => session.close(() => resolve({ status, body: text })));
    req.end(body);
  });
}

Deno.test("mock APNs refuses HTTP/1.1", async () => {
  const mock = await startMockApns();
  const client = Deno.createHttpClient({ caCerts: [mock.caPem], http2: false, http1: true });
  try {
    await assertRejects(() =>
      fetch(`https://${mock.hosts.production}/3/device/${TOKEN}`, { method: "POST", client })
    );
  } finally {
    client.close();
    await mock.close();
  }
});

Deno.test("mock APNs rejects bad and missing provider tokens and oversize payloads", async () => {
  const mock = await startMockApns();
  try {
    const key = await generateApnsKey();
    await mock.addKey("MOCKKEY001", "MOCKTEAM01", key.publicKey);
    const base = { "apns-topic": "com.e", "apns-push-type": "alert" };
    const missing = await post(mock.hosts.production, mock.caPem, base);
    assertEquals([missing.status, JSON.parse(missing.body).reason], [403, "MissingProviderToken"]);
    const header = btoa('{"alg":"ES256","kid":"MOCKKEY001"}');
    const claims = btoa(`{"iss":"MOCKTEAM01","iat":${Math.floor(Date.now() / 1000)}}`);
    const forged = await post(mock.hosts.production, mock.caPem, {
      ...base,
      authorization: `bearer ${header}.${claims}.${btoa("x".repeat(64))}`,
    });
    assertEquals([forged.status, JSON.parse(forged.body).reason], [403, "InvalidProviderToken"]);
    const voipTopic = await post(mock.hosts.production, mock.caPem, {
      ...base,
      "apns-push-type": "voip",
    });
    assertEquals(JSON.parse(voipTopic.body).reason, "TopicDisallowed");
    const big = await post(mock.hosts.production, mock.caPem, base, "x".repeat(4097));
    assertEquals([big.status, JSON.parse(big.body).reason], [413, "PayloadTooLarge"]);
    assertEquals(mock.accepted.length, 0);
  } finally {
    await mock.close();
  }
});

Deno.test("mock APNs CLI runs standalone, prints its hosts and CA, and logs pushes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgepush-mock-cli-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../support/mock_apns_cli.ts", import.meta.url).pathname,
      "--port",
      "0",
      "--ca-out",
      `${dir}/ca.pem`,
      "--log",
      `${dir}/log.jsonl`,
      "--quiet",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) text += (await reader.read()).value ?? "";
    const info = JSON.parse(text.split("\n")[0]);
    const caPem = await Deno.readTextFile(info.caFile);
    const header = btoa('{"alg":"ES256","kid":"ANY"}');
    const claims = btoa(`{"iss":"ANY","iat":${Math.floor(Date.now() / 1000)}}`);
    const res = await post(info.production, caPem, {
      "apns-topic": "com.e",
      authorization: `bearer ${header}.${claims}.c2ln`,
    });
    assertEquals(res.status, 200);
    child.kill("SIGTERM");
    await child.status;
    const log = await Deno.readTextFile(`${dir}/log.jsonl`);
    assertOk(log.includes(TOKEN));
    // Cancelling the reader cancels the pipe and, through it, the child's stdout (which the
    // pipe keeps locked, so it cannot be cancelled directly).
    await reader.cancel().catch(() => {});
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mock APNs runs its HTTP/2 under Node when it can, in-process otherwise, with the same answers", async () => {
  const header = btoa('{"alg":"ES256","kid":"ANY"}');
  const claims = btoa(`{"iss":"ANY","iat":${Math.floor(Date.now() / 1000)}}`);
  const authorization = `bearer ${header}.${claims}.c2ln`;
  for (const front of ["auto", "in-process"] as const) {
    const mock = await startMockApns({ acceptUnknownKeys: true, front });
    try {
      assertEquals(mock.front, front === "auto" && findNode() ? "node" : "in-process");
      mock.script(TOKEN, { status: 410, reason: "Unregistered", timestamp: 7 });
      const gone = await post(mock.hosts.production, mock.caPem, {
        "apns-topic": "com.e",
        authorization,
      });
      assertEquals([gone.status, JSON.parse(gone.body)], [410, {
        reason: "Unregistered",
        timestamp: 7,
      }]);
      const ok = await post(mock.hosts.development, mock.caPem, {
        "apns-topic": "com.e",
        authorization,
      });
      assertEquals(ok.status, 200, front);
      assertEquals(mock.accepted.map((p) => [p.token, p.environment]), [[TOKEN, "development"]]);
      assertEquals([mock.stats.requests, mock.stats.accepted, mock.stats.sessions], [2, 1, 2]);
    } finally {
      await mock.close();
    }
  }
});

Deno.test({
  name: "mock APNs' Node front exits with its parent, even one killed outright, freeing its ports",
  ignore: !findNode(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "edgepush-mock-orphan-" });
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../support/mock_apns_cli.ts", import.meta.url).pathname,
        ...["--port", "0", "--ca-out", `${dir}/ca.pem`, "--quiet", "--front", "node"],
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let text = "";
      while (!text.includes("\n")) text += (await reader.read()).value ?? "";
      const port = Number(JSON.parse(text.split("\n")[0]).production.split(":")[1]);
      const listening = async () => {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port })).close();
          return true;
        } catch {
          return false;
        }
      };
      assertOk(await listening(), "the front listens");
      child.kill("SIGKILL"); // no chance to stop the front itself
      await child.status;
      await waitFor(async () => !(await listening()), { what: "the port to be free" });
    } finally {
      await reader.cancel().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
