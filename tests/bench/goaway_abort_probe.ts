/**
 * Which side of an HTTP/2 GOAWAY hits Deno's nghttp2 abort (denoland/deno#36788,
 * "find_stream_on_goaway_func: Assertion … failed")? The suite's GOAWAY tests run the mock APNs
 * and edgepush's transport in one process, so an abort there names neither. This probe runs them
 * in two: the mock (`deno task mock-apns`, or `--mock-runtime node` for the Node build of it)
 * and a client process running the GOAWAY scenarios of tests/lib/apns/transport_test.ts through
 * edgepush's transport; it repeats that and counts, per side, the runs that aborted.
 *
 *   deno run -A tests/bench/goaway_abort_probe.ts [--runs 30] [--rounds 20] [--sends 2000]
 *     [--goaway-after 40] [--fault-rate 0.2]
 *
 * Each round sends `--sends` notifications with up to 1000 streams in flight on two
 * connections, then closes the transport (the client's GOAWAY), as a benchmark run ends.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createTransport } from "../../lib/apns/transport.ts";

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
    ca: { type: "string" },
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

/** One run: a fresh mock process and a fresh client process. */
async function run(): Promise<{ client: string; mock: string }> {
  const dir = await Deno.makeTempDir({ prefix: "edgepush-goaway-probe-" });
  const mock = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MOCK_CLI,
      ...["--port", "0", "--quiet", "--ca-out", `${dir}/ca.pem`],
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
        ...["--rounds", values.rounds!, "--sends", values.sends!],
        ...["--production", hosts.production, "--ca", `${dir}/ca.pem`],
      ],
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    if (text.includes(ABORT)) client = "abort";
    else if (!out.success) client = `exit ${out.code}: ${text.split("\n").slice(-3).join(" ")}`;
  }
  try {
    mock.kill("SIGTERM");
  } catch { /* already gone */ }
  const status = await mock.status;
  const err = await mockErr;
  if (err.includes(ABORT)) mockSide = "abort";
  else if (mockSide === "ok" && !status.success && status.signal !== "SIGTERM") {
    mockSide = `exit ${status.code}`;
  }
  await Deno.remove(dir, { recursive: true });
  return { client, mock: mockSide };
}

const counts = { runs: 0, clientAborts: 0, mockAborts: 0, other: [] as string[] };
for (let i = 0; i < Number(values.runs); i++) {
  const r = await run();
  counts.runs++;
  if (r.client === "abort") counts.clientAborts++;
  if (r.mock === "abort") counts.mockAborts++;
  for (const [side, what] of Object.entries(r)) {
    if (what !== "ok" && what !== "abort") counts.other.push(`${side}: ${what}`);
  }
  console.error(`run ${i + 1}: client ${r.client}, mock ${r.mock}`);
}
console.log(JSON.stringify(counts));
