/**
 * Send benchmark: N notifications to the mock APNs running in a separate process, through our
 * relay (its own HTTP/2 client over Deno's TLS), against `@parse/node-apn` and `apns2` on Node, and h2load's
 * ceiling. Prints notifications/s, CPU ms per 1k notifications (of the sending process only),
 * and the ratio to the fastest peer.
 *
 * Run: `deno run -A tests/bench/send_bench.ts [n]` (default 100,000). The peers' npm packages
 * are installed into a temp dir at bench time. The mock listens on port 443 because apns2 has
 * no port option (run as root, or apns2 is skipped).
 *
 * @module
 */
import { buildHeaders } from "../../lib/apns/headers.ts";
import { buildPayload } from "../../lib/apns/payload.ts";
import { createRelay, type Recipient } from "../../lib/apns/relay.ts";
import { createMemoryTokenSource } from "../../lib/apns/jwt.ts";
import { generateApnsKey } from "../support/mock_apns_keys.ts";
import { startTestRedis } from "../support/redis_server.ts";

/** One row of the results table. */
export interface BenchRow {
  client: string;
  perSecond: number | null;
  cpuMsPer1k: number | null;
  ratioToFastestPeer?: number;
  note?: string;
}

const TEAM = "BENCHTEAM1";
const KEY_ID = "BENCHKEY01";
const TOPIC = "com.example.bench";
const PEERS_DIR = "/tmp/edgepush-bench-peers";

function cpuMs(): number {
  const p = (globalThis as unknown as { process: { cpuUsage(): { user: number; system: number } } })
    .process;
  const u = p.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface MockProcess {
  host: string;
  caPem: string;
  stop(): Promise<void>;
}

async function startMockProcess(dir: string, keyFile: string, port: number): Promise<MockProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../support/mock_apns_cli.ts", import.meta.url).pathname,
      "--port",
      String(port),
      "--dev-port",
      "0",
      "--ca-out",
      `${dir}/ca.pem`,
      "--quiet",
      "--key",
      `${KEY_ID}:${TEAM}:${keyFile}`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("mock exited");
    text += value;
  }
  reader.releaseLock();
  const info = JSON.parse(text.split("\n")[0]) as { production: string; caFile: string };
  return {
    host: info.production,
    caPem: await Deno.readTextFile(info.caFile),
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited (see runSendBench).
      }
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

async function ours(
  n: number,
  host: string,
  caPem: string,
  privateKeyPem: string,
): Promise<BenchRow> {
  const redis = await startTestRedis();
  const relay = createRelay({
    redis: redis.redis,
    // The product's default APNS_CONNECTIONS (lib/config.ts), or the environment's.
    transport: {
      hosts: { production: host },
      caPem,
      maxStreams: 1000,
      connections: Number(Deno.env.get("APNS_CONNECTIONS") ?? 2),
    },
    concurrency: 1000,
  });
  try {
    const app = {
      bundleId: TOPIC,
      credential: { kind: "token" as const, teamId: TEAM, keyId: KEY_ID, privateKeyPem },
    };
    const message = {
      body:
        buildPayload({ pushType: "alert", notification: { title: "Hello", body: "Bench" } }).body,
      headers: buildHeaders({ bundleId: TOPIC, pushType: "alert" }),
    };
    const batch = 5_000;
    const recipients: Recipient[] = Array.from({ length: batch }, (_, i) => ({
      installationId: `i${i}`,
      token: "d".repeat(64),
      environment: "production",
      registeredAt: 0,
    }));
    await relay.sendBatch(app, message, recipients.slice(0, 100)); // warm: connect + mint
    const c0 = cpuMs();
    const t0 = performance.now();
    let ok = 0;
    for (let sent = 0; sent < n; sent += batch) {
      const results = await relay.sendBatch(
        app,
        message,
        recipients.slice(0, Math.min(batch, n - sent)),
      );
      ok += results.filter((r) => r.status === "accepted").length;
    }
    const ms = performance.now() - t0;
    const cpu = cpuMs() - c0;
    return {
      client: "edgepush relay (Deno, own HTTP/2)",
      perSecond: Math.round((n / ms) * 1000),
      cpuMsPer1k: +(cpu / (n / 1000)).toFixed(1),
      note: ok === n ? "" : `${n - ok} failed`,
    };
  } finally {
    await relay.close();
    await redis.stop();
  }
}

async function ensurePeers(): Promise<boolean> {
  try {
    await Deno.stat(`${PEERS_DIR}/node_modules/apns2`);
    await Deno.stat(`${PEERS_DIR}/node_modules/@parse/node-apn`);
    return true;
  } catch {
    const out = await new Deno.Command("npm", {
      args: [
        "install",
        "--prefix",
        PEERS_DIR,
        "--no-audit",
        "--no-fund",
        "@parse/node-apn",
        "apns2",
      ],
      stdout: "null",
      stderr: "inherit",
    }).output();
    return out.success;
  }
}

async function peer(
  name: string,
  script: string,
  n: number,
  env: Record<string, string>,
): Promise<BenchRow> {
  // Peers are copied next to their node_modules so Node resolves the packages.
  const target = `${PEERS_DIR}/${script}`;
  await Deno.copyFile(new URL(`./peers/${script}`, import.meta.url).pathname, target);
  const out = await new Deno.Command("node", {
    args: [target],
    env: { ...env, N: String(n) },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  try {
    const r = JSON.parse(text) as { ms: number; cpuMs: number; ok: number };
    return {
      client: name,
      perSecond: Math.round((n / r.ms) * 1000),
      cpuMsPer1k: +(r.cpuMs / (n / 1000)).toFixed(1),
      note: r.ok === n ? "" : `${n - r.ok} failed`,
    };
  } catch {
    return {
      client: name,
      perSecond: null,
      cpuMsPer1k: null,
      note: new TextDecoder().decode(out.stderr).slice(0, 200),
    };
  }
}

async function h2load(
  n: number,
  host: string,
  privateKeyPem: string,
  dir: string,
): Promise<BenchRow> {
  const which = await new Deno.Command("sh", { args: ["-c", "command -v h2load"], stdout: "null" })
    .output();
  if (!which.success) {
    return {
      client: "h2load (ceiling)",
      perSecond: null,
      cpuMsPer1k: null,
      note: "h2load not installed (apt nghttp2-client)",
    };
  }
  const jwt = await createMemoryTokenSource({ teamId: TEAM, keyId: KEY_ID, privateKeyPem })
    .current();
  await Deno.writeTextFile(
    `${dir}/payload.json`,
    '{"aps":{"alert":{"title":"Hello","body":"Bench"}}}',
  );
  const out = await new Deno.Command("h2load", {
    args: [
      "-n",
      String(n),
      "-c",
      "1",
      "-m",
      "1000",
      "-d",
      `${dir}/payload.json`,
      "-H",
      `authorization: bearer ${jwt}`,
      "-H",
      `apns-topic: ${TOPIC}`,
      "-H",
      "apns-push-type: alert",
      `https://${host}/3/device/${"d".repeat(64)}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const match = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(text);
  return {
    client: "h2load (ceiling, C)",
    perSecond: match ? Math.round(Number(match[1])) : null,
    cpuMsPer1k: null,
    note: match ? "" : text.slice(-200),
  };
}

/** Runs the send benchmark and returns its table rows. */
export async function runSendBench({ n = 100_000 }: { n?: number } = {}): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "edgepush-send-bench-" });
  const key = await generateApnsKey();
  await Deno.writeTextFile(`${dir}/AuthKey.p8`, key.privateKeyPem);
  // A fresh mock per client, so that no client inherits another's connections or counters. (It
  // also kept one crash of Deno's HTTP/2 server, denoland/deno#36788, to one row, before the
  // mock's HTTP/2 moved to Node.)
  let port443 = true;
  const startMock = async () => {
    if (port443) {
      try {
        return await startMockProcess(dir, `${dir}/AuthKey.p8`, 443);
      } catch {
        port443 = false;
      }
    }
    return await startMockProcess(dir, `${dir}/AuthKey.p8`, 0);
  };
  const withMock = async (run: (mock: MockProcess) => Promise<BenchRow>): Promise<BenchRow> => {
    const mock = await startMock();
    try {
      return await run(mock);
    } finally {
      await mock.stop();
    }
  };
  const rows: BenchRow[] = [];
  try {
    const envFor = (mock: MockProcess) => {
      const [hostname, port] = mock.host.split(":");
      return {
        HOST: hostname,
        PORT: port,
        KEY_FILE: `${dir}/AuthKey.p8`,
        KEY_ID,
        TEAM_ID: TEAM,
        TOPIC,
        NODE_EXTRA_CA_CERTS: `${dir}/ca.pem`,
        PATH: Deno.env.get("PATH") ?? "",
      };
    };
    rows.push(await withMock((mock) => ours(n, mock.host, mock.caPem, key.privateKeyPem)));
    const peersOk = await ensurePeers();
    const peers: BenchRow[] = [];
    if (peersOk) {
      peers.push(
        await withMock((mock) => peer("@parse/node-apn (Node)", "node_apn.mjs", n, envFor(mock))),
      );
      peers.push(
        await withMock((mock) =>
          port443 ? peer("apns2 (Node)", "apns2.mjs", n, envFor(mock)) : Promise.resolve({
            client: "apns2 (Node)",
            perSecond: null,
            cpuMsPer1k: null,
            note: "needs the mock on port 443",
          })
        ),
      );
    } else {
      peers.push({
        client: "npm peers",
        perSecond: null,
        cpuMsPer1k: null,
        note: "npm install failed",
      });
    }
    rows.push(...peers);
    rows.push(await withMock((mock) => h2load(n, mock.host, key.privateKeyPem, dir)));
    const fastest = Math.max(0, ...peers.map((p) => p.perSecond ?? 0));
    for (const row of rows) {
      if (fastest && row.perSecond) row.ratioToFastestPeer = +(row.perSecond / fastest).toFixed(2);
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 100_000);
  console.table(await runSendBench({ n }));
}
