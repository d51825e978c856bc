/**
 * `deno task mock-apns`: the mock APNs as a standalone process, for manual runs, the README
 * quickstart and benchmarks.
 *
 * Flags (all optional):
 *   --port 2197            production port (0 = free); development listens on --dev-port
 *   --dev-port 2198        development port (default: port + 1, or free when port is 0)
 *   --hostname 127.0.0.1   listen address
 *   --ca-out FILE          write the test CA (PEM) here for clients (default ./.data/mock-ca.pem)
 *   --ca-key-out FILE      also write the test CA's private key, to sign test client
 *                          certificates with openssl as Apple signs real ones (default: not written)
 *   --log FILE             append every accepted push as a JSON line
 *   --key KID:TEAM:FILE    verify tokens with this key (repeatable; .p8 or public PEM). Without
 *                          any --key, any well-formed token is accepted
 *   --fault-rate 0.1       inject 429/503/GOAWAY at this rate
 *   --goaway-after N       GOAWAY each connection after N streams
 *   --max-streams 1000     SETTINGS_MAX_CONCURRENT_STREAMS
 *   --quiet                do not print each push on stdout
 *   --topics ID=B[,B…]     the bundle ids team ID's keys (or the certificate whose subject CN is
 *                          ID) may push to; another app's topic is TopicDisallowed (repeatable)
 *   --token-env TOKEN=ENV  TOKEN belongs to ENV (production|development): the other host answers
 *                          BadDeviceToken (repeatable)
 *   --token-topic TOKEN=T  TOKEN belongs to topic T: another topic is DeviceTokenNotForTopic
 *   --unregistered TOKEN   TOKEN's app was uninstalled: 410 Unregistered (repeatable)
 *   --client-ca FILE       also trust client certificates this CA (PEM) issued, as APNs trusts
 *                          Apple's: for certificate auth with your own test .p12 (repeatable)
 *   --front auto           where HTTP/2 runs: node (a Node child process), in-process (Deno's
 *                          node:http2, which can abort: denoland/deno#36788), auto (node when
 *                          `node` is on PATH); default $MOCK_APNS_FRONT, else auto
 *
 * See docs/mock-apns.md.
 * On start it prints one JSON line: `{"production":"localhost:2197","development":…,"caFile":…}`.
 * `GET /_mock/stats` (HTTP/2) returns counters. SIGINT/SIGTERM stop it.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname } from "node:path";
import { type AcceptedPush, startMockApns } from "./mock_apns.ts";
import type { MockDevice } from "./mock_apns_types.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "2197" },
    "dev-port": { type: "string" },
    hostname: { type: "string", default: "127.0.0.1" },
    "ca-out": { type: "string", default: "./.data/mock-ca.pem" },
    "ca-key-out": { type: "string" },
    log: { type: "string" },
    key: { type: "string", multiple: true },
    "fault-rate": { type: "string" },
    "goaway-after": { type: "string" },
    "max-streams": { type: "string" },
    quiet: { type: "boolean" },
    topics: { type: "string", multiple: true },
    "token-env": { type: "string", multiple: true },
    "token-topic": { type: "string", multiple: true },
    unregistered: { type: "string", multiple: true },
    "client-ca": { type: "string", multiple: true },
    front: { type: "string" },
  },
});

/** `NAME=VALUE` → [NAME, VALUE]; anything else stops the mock with the flag named. */
function pair(flag: string, spec: string): [string, string] {
  const at = spec.indexOf("=");
  if (at <= 0 || at === spec.length - 1) {
    console.error(
      `--${flag} takes NAME=VALUE, got ${JSON.stringify(spec)} (see docs/mock-apns.md)`,
    );
    Deno.exit(2);
  }
  return [spec.slice(0, at), spec.slice(at + 1)];
}

const front = values.front;
if (front !== undefined && front !== "auto" && front !== "node" && front !== "in-process") {
  console.error(`--front is auto, node or in-process, got ${JSON.stringify(front)}`);
  Deno.exit(2);
}
const port = Number(values.port);
const devPort = values["dev-port"] !== undefined
  ? Number(values["dev-port"])
  : port === 0
  ? 0
  : port + 1;
const logFile = values.log
  ? await Deno.open(values.log, { append: true, create: true })
  : undefined;
const encoder = new TextEncoder();
let pending: string[] = [];

function onAccepted(push: AcceptedPush): void {
  const line = JSON.stringify({
    at: new Date(push.at).toISOString(),
    environment: push.environment,
    token: push.token,
    apnsId: push.apnsId,
    topic: push.headers["apns-topic"],
    pushType: push.headers["apns-push-type"],
    // How the provider authenticated: a provider token's key id, or the client certificate.
    auth: push.auth.kind === "token"
      ? { kind: "token", teamId: push.auth.teamId, keyId: push.auth.keyId }
      : { kind: "certificate", subject: push.auth.subject },
    payload: push.payload,
  });
  if (!values.quiet) console.log(line);
  if (logFile) pending.push(line);
}

// Batched so that a benchmark's 100k pushes do not cost 100k writes.
const flusher = logFile
  ? setInterval(async () => {
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    await logFile.write(encoder.encode(lines.join("\n") + "\n"));
  }, 100)
  : undefined;

const mock = await startMockApns({
  ports: { production: port, development: devPort },
  hostname: values.hostname,
  acceptUnknownKeys: !values.key?.length,
  maxConcurrentStreams: values["max-streams"] ? Number(values["max-streams"]) : undefined,
  goAwayAfter: values["goaway-after"] ? Number(values["goaway-after"]) : undefined,
  faults: values["fault-rate"] ? { rate: Number(values["fault-rate"]) } : undefined,
  record: false,
  clientCas: await Promise.all((values["client-ca"] ?? []).map((f) => Deno.readTextFile(f))),
  onAccepted: values.quiet && !logFile ? undefined : onAccepted,
  front,
});
if (mock.front === "in-process") {
  console.error(
    "mock APNs: HTTP/2 runs inside Deno (no `node` on PATH, or --front in-process); Deno's " +
      "node:http2 server can abort when a client closes after heavy traffic (denoland/deno#36788)",
  );
}
for (const spec of values.topics ?? []) {
  const [id, bundles] = pair("topics", spec);
  mock.allowTopics(id, bundles.split(",").map((b) => b.trim()).filter(Boolean));
}
const devices = new Map<string, MockDevice>();
const deviceOf = (token: string) => devices.get(token) ?? devices.set(token, {}).get(token)!;
for (const spec of values["token-env"] ?? []) {
  const [token, env] = pair("token-env", spec);
  if (env !== "production" && env !== "development") {
    console.error(`--token-env ${spec}: the environment is production or development`);
    Deno.exit(2);
  }
  deviceOf(token.toLowerCase()).environment = env;
}
for (const spec of values["token-topic"] ?? []) {
  const [token, topic] = pair("token-topic", spec);
  deviceOf(token.toLowerCase()).topic = topic;
}
for (const token of values.unregistered ?? []) {
  deviceOf(token.toLowerCase()).unregisteredAt = Date.now();
}
for (const [token, device] of devices) mock.device(token, device);
for (const spec of values.key ?? []) {
  const [keyId, teamId, ...file] = spec.split(":");
  await mock.addKey(keyId, teamId, await Deno.readTextFile(file.join(":")));
}
await Deno.mkdir(dirname(values["ca-out"]), { recursive: true });
await Deno.writeTextFile(values["ca-out"], mock.caPem);
if (values["ca-key-out"]) {
  await Deno.mkdir(dirname(values["ca-key-out"]), { recursive: true });
  await Deno.writeTextFile(values["ca-key-out"], mock.ca.caKeyPem, { mode: 0o600 });
}
console.log(JSON.stringify({ ...mock.hosts, caFile: values["ca-out"] }));

const stop = async () => {
  if (flusher !== undefined) clearInterval(flusher);
  if (logFile && pending.length) await logFile.write(encoder.encode(pending.join("\n") + "\n"));
  logFile?.close();
  await mock.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
