/**
 * Which side of an HTTP/2 GOAWAY hits Deno's nghttp2 abort (denoland/deno#36788,
 * "find_stream_on_goaway_func: Assertion … failed")? The suite's GOAWAY tests run the mock APNs
 * and edgepush's transport in one process, so an abort there names neither. This probe runs them
 * in two: the mock (`deno task mock-apns`) and a client process sending through edgepush's relay
 * or transport; it repeats that and counts, per side, the runs that aborted (the
 * nghttp2 assertion) or otherwise crashed (SIGSEGV, "free(): invalid pointer").
 *
 *   deno run -A tests/bench/goaway_abort_probe.ts [--runs 30] [--rounds 20] [--sends 2000]
 *     [--goaway-after 40] [--fault-rate 0.2] [--via relay|transport] [--front auto|in-process]
 *
 * `--via relay` (the default) sends as the send benchmark does, through the relay in batches of
 * 5,000 to one token; `--via transport` through the bare transport to distinct tokens.
 *
 * Each round sends `--sends` notifications with up to 1000 streams in flight on two
 * connections; the client then closes (its GOAWAY), as a benchmark run ends. Found with it on
 * 2026-12-02 (`--runs 6 --rounds 1 --sends 20000 --goaway-after 0 --fault-rate 0`): the mock
 * process crashed after the relay's close in 5 of 6 runs, the client in none.
 *
 * Since then the mock's HTTP/2 runs under Node (mock_apns_link.ts); `--front in-process` puts it
 * back inside the mock's Deno process, to see the upstream abort again.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { buildHeaders } from "../../lib/apns/headers.ts";
import { buildPayload } from "../../lib/apns/payload.ts";
import { createRelay, type Recipient } from "../../lib/apns/relay.ts";
import { createTransport } from "../../lib/apns/transport.ts";
import { generateApnsKey } from "../support/mock_apns_keys.ts";
import { startTestRedis } from "../support/redis_server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "30" },
    rounds: { type: "string", default: "20" },
    sends: { type: "string", default: "2000" },
    "goaway-after": { type: "string", default: "40" },
    "fault-rate": { type: "string", default: "0.2" },
    client: { type: "boolean" },
    production: { type: "string" },
    via: { type: "string", default: "relay" },
    ca: { type: "string" },
    front: { type: "string", default: "auto" },
  },
});
const ABORT = "find_stream_on_goaway_func";
const HERE = new URL(import.meta.url).pathname;
const MOCK_CLI = new URL("../support/mock_apns_cli.ts", import.meta.url).pathname;

if (values.client) {
  // The client side: the suite's GOAWAY scenarios, `rounds` times, through the real transport.
  const AUTH = `bearer ${btoa('{"alg":"ES256","kid":"K"}')}.${
    btoa(`{"iss":"T","iat":${Math.floor(Date.now() / 1000)}}`)
  }.c2ln`;
  const headers = { "apns-push-type": "alert", "apns-topic": "com.example", "apns-priority": "10" };
  const caPem = await Deno.readTextFile(values.ca!);
  if (values.via === "relay") {
    // The send benchmark's pattern: edgepush's relay, batches of 5,000 at 1,000 in flight.
    console.log(JSON.stringify({ failed: await throughRelay(caPem) }));
    Deno.exit(0);
  }
  let failed = 0;
  for (let round = 0; round < Number(values.rounds); round++) {
    const transport = createTransport({
      hosts: { production: values.production! },
      caPem,
      maxAttempts: 8,
      backoffMs: 2,
      connections: 2,
      maxStreams: 1000,
    });
    const results = await Promise.all(
      Array.from({ length: Number(values.sends) }, (_, i) =>
        transport.send({
          environment: "production",
          deviceToken: (round * 100_000 + i).toString(16).padStart(64, "0"),
          headers,
          body: '{"aps":{"alert":"hi"}}',
          credential: { kind: "token", id: "T" },
          authorization: AUTH,
        }).then((r) => r.status, () => 0)),
    );
    failed += results.filter((s) => s !== 200).length;
    await transport.close();
  }
  console.log(JSON.stringify({ failed }));
  Deno.exit(0);
}

async function throughRelay(caPem: string): Promise<number> {
  const redis = await startTestRedis();
  const key = await generateApnsKey();
  const relay = createRelay({
    redis: redis.redis,
    transport: {
      hosts: { production: values.production! },
      caPem,
      maxStreams: 1000,
      connections: 2,
    },
    concurrency: 1000,
  });
  const app = {
    bundleId: "com.example",
    credential: {
      kind: "token" as const,
      teamId: "T",
      keyId: "K",
      privateKeyPem: key.privateKeyPem,
    },
  };
  const message = {
    body: buildPayload({ pushType: "alert", notification: { title: "Hi" } }).body,
    headers: buildHeaders({ bundleId: "com.example", pushType: "alert" }),
  };
  const recipients: Recipient[] = Array.from({ length: 5_000 }, (_, i) => ({
    installationId: `i${i}`,
    token: "d".repeat(64),
    environment: "production",
    registeredAt: 0,
  }));
  let failed = 0;
  for (let round = 0; round < Number(values.rounds); round++) {
    for (let sent = 0; sent < Number(values.sends); sent += recipients.length) {
      const batch = recipients.slice(0, Math.min(recipients.length, Number(values.sends) - sent));
      const results = await relay.sendBatch(app, message, batch);
      failed += results.filter((r) => r.status !== "accepted").length;
    }
  }
  await relay.close();
  await redis.stop();
  return failed;
}

/** One run: a fresh mock process and a fresh client process. */
async function run(): Promise<{ client: string; mock: string }> {
  const dir = await Deno.makeTempDir({ prefix: "edgepush-goaway-probe-" });
  const mock = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MOCK_CLI,
      ...["--port", "0", "--quiet", "--ca-out", `${dir}/ca.pem`, "--front", values.front!],
      // By default GOAWAY every 40 streams plus 20% random faults (429, 503, GOAWAY), as the
      // suite does; `--goaway-after 0 --fault-rate 0` leaves only the client's closing GOAWAY.
      ...(Number(values["goaway-after"]) > 0 ? ["--goaway-after", values["goaway-after"]!] : []),
      ...(Number(values["fault-rate"]) > 0 ? ["--fault-rate", values["fault-rate"]!] : []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const mockErr = new Response(mock.stderr).text();
  let mockExited = false;
  mock.status.then(() => (mockExited = true));
  const reader = mock.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    first += value;
  }
  reader.releaseLock();
  mock.stdout.cancel().catch(() => {});
  let client = "ok";
  let mockSide = "ok";
  if (!first.includes("\n")) {
    mockSide = "did not start";
  } else {
    const hosts = JSON.parse(first.split("\n")[0]);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        HERE,
        "--client",
        ...["--rounds", values.rounds!, "--sends", values.sends!, "--via", values.via!],
        ...["--production", hosts.production, "--ca", `${dir}/ca.pem`],
      ],
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    if (text.includes(ABORT)) client = "abort";
    else if (!out.success) client = `exit ${out.code}: ${text.split("\n").slice(-3).join(" ")}`;
  }
  // The mock only ends when told to: gone before SIGTERM means it crashed.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const crashed = mockExited;
  try {
    mock.kill("SIGTERM");
  } catch { /* already gone */ }
  const status = await mock.status;
  const stderr = (await mockErr).trim();
  // The crash's message, not the mock's own notes before it.
  const err = stderr.split("\n").filter((l) => !l.startsWith("mock APNs:"))[0] ?? "";
  if (stderr.includes(ABORT)) mockSide = "abort";
  else if (crashed) mockSide = `crash (${status.signal ?? status.code}: ${err || "no message"})`;
  await Deno.remove(dir, { recursive: true });
  return { client, mock: mockSide };
}

const counts = { runs: 0, clientAborts: 0, mockAborts: 0, mockCrashes: 0, other: [] as string[] };
for (let i = 0; i < Number(values.runs); i++) {
  const r = await run();
  counts.runs++;
  if (r.client === "abort") counts.clientAborts++;
  if (r.mock === "abort") counts.mockAborts++;
  if (r.mock.startsWith("crash")) counts.mockCrashes++;
  for (const [side, what] of Object.entries(r)) {
    if (what !== "ok" && what !== "abort" && !what.startsWith("crash")) {
      counts.other.push(`${side}: ${what}`);
    }
  }
  console.error(`run ${i + 1}: client ${r.client}, mock ${r.mock}`);
}
console.log(JSON.stringify(counts));
