/**
 * Quick comparison of three HTTP/2 clients in Deno against the mock APNs: `fetch` with an
 * HTTP/2-only `Deno.HttpClient`, `node:http2` (one session, streams pumped directly), and
 * edgepush's transport (its own HTTP/2 client, lib/apns/h2/).
 * Run: `deno run -A tests/bench/send_transport_compare.ts [n] [inflight]`.
 *
 * @module
 */
import { startMockApns } from "../support/mock_apns.ts";
import http2 from "node:http2";
import { createTransport } from "../../lib/apns/transport.ts";

const TOKEN = "a".repeat(64);
const HEADERS = {
  "apns-push-type": "alert",
  "apns-topic": "com.example.bench",
  "apns-priority": "10",
};
const BODY = JSON.stringify({ aps: { alert: { title: "Hello", body: "Bench" } } });

async function timed(label: string, n: number, run: () => Promise<void>) {
  const t0 = performance.now();
  const u0 = processCpuMs();
  await run();
  const ms = performance.now() - t0;
  const cpu = processCpuMs() - u0;
  return {
    label,
    perSecond: Math.round((n / ms) * 1000),
    cpuMsPer1k: +(cpu / (n / 1000)).toFixed(1),
  };
}

function processCpuMs(): number {
  const usage =
    (globalThis as unknown as { process: { cpuUsage(): { user: number; system: number } } })
      .process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function pump(n: number, inflight: number, one: () => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (next++ < n) await one();
  }));
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 20_000);
  const inflight = Number(Deno.args[1] ?? 100);
  // The mock runs in this process here, so CPU figures include it; the ratio is what matters.
  const mock = await startMockApns({ acceptUnknownKeys: true, record: false });
  const rows = [];
  const only = Deno.args[2];
  const client = Deno.createHttpClient({ caCerts: [mock.caPem], http2: true, http1: false });
  const url = `https://${mock.hosts.production}/3/device/${TOKEN}`;
  const auth =
    "bearer eyJhbGciOiJFUzI1NiIsImtpZCI6IktFWSJ9.eyJpc3MiOiJURUFNIiwiaWF0Ijo5OTk5OTk5OTk5fQ.c2ln";
  if (only !== "node") {
    rows.push(
      await timed(`fetch h2 (${inflight} in flight)`, n, () =>
        pump(n, inflight, async () => {
          const r = await fetch(url, {
            method: "POST",
            headers: { ...HEADERS, authorization: auth },
            body: BODY,
            client,
          });
          await r.arrayBuffer();
        })),
    );
  }
  client.close();
  if (only !== "fetch") {
    const session = http2.connect(url, { ca: mock.caPem });
    const headers = {
      ":method": "POST",
      ":path": `/3/device/${TOKEN}`,
      ...HEADERS,
      authorization: auth,
    };
    const one = () =>
      new Promise<void>((resolve, reject) => {
        const stream = session.request(headers);
        stream.on("error", reject);
        stream.on("data", () => {});
        stream.on("close", () => resolve());
        stream.end(BODY);
      });
    await one();
    rows.push(await timed(`node:http2 (${inflight} in flight)`, n, () => pump(n, inflight, one)));
    await new Promise<void>((resolve) => session.close(() => resolve()));
  }
  const transport = createTransport({ hosts: mock.hosts, caPem: mock.caPem, maxStreams: 1000 });
  rows.push(
    await timed(
      `edgepush transport (${inflight} in flight)`,
      n,
      () =>
        pump(n, inflight, () =>
          transport.send({
            environment: "production",
            deviceToken: TOKEN,
            headers: HEADERS,
            body: BODY,
            credential: { kind: "token", id: "TEAM" },
            authorization: auth,
          })),
    ),
  );
  console.error("closing transport");
  await transport.close();
  console.error("closing mock");
  await mock.close();
  console.error("closed");
  console.table(rows);
}
