/**
 * A mock of APNs: a real HTTP/2-over-TLS server (no HTTP/1.1) with a per-run test CA, serving a
 * production and a development "host" on two ports that share state. It verifies ES256 provider
 * tokens against registered keys (or client certificates), enforces APNs' request rules, and can
 * be scripted per token (410, BadDeviceToken on one host, 429, 5xx, delays, GOAWAY) or told to
 * inject random faults for campaign tests.
 *
 * ```ts
 * const mock = await startMockApns();
 * await mock.addKey("KEY1234567", "TEAM123456", privateOrPublicPem);
 * mock.device(token, { environment: "development" }); // BadDeviceToken on production
 * // … point the transport at mock.hosts with caPem: mock.caPem …
 * await mock.close();
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import http2 from "node:http2";
import type { TLSSocket } from "node:tls";
import { createTestCa } from "./test_ca.ts";
import {
  type AcceptedPush,
  type MockApns,
  type MockApnsOptions,
  type MockDevice,
  type MockEnvironment,
  type ScriptedResponse,
} from "./mock_apns_types.ts";
import {
  type MockCheck,
  readClientCertificate,
  topicBundleId,
  validateRequest,
  verifyProviderToken,
} from "./mock_apns_rules.ts";

export type {
  AcceptedPush,
  FaultKind,
  FaultOptions,
  MockApns,
  MockApnsOptions,
  MockDevice,
  MockEnvironment,
  ScriptedResponse,
} from "./mock_apns_types.ts";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function toPublicKey(key: string | CryptoKey): Promise<CryptoKey> {
  if (typeof key !== "string") return key;
  const { createPublicKey } = await import("node:crypto");
  const spki = createPublicKey(key).export({ type: "spki", format: "der" });
  return crypto.subtle.importKey(
    "spki",
    new Uint8Array(spki),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
}

/** Starts the mock on two ports (production, development). */
export async function startMockApns(options: MockApnsOptions = {}): Promise<MockApns> {
  const ownCa = !options.ca;
  const ca = options.ca ?? await createTestCa();
  const now = options.now ?? Date.now;
  const record = options.record ?? true;
  const keys = new Map<string, { teamId: string; key: CryptoKey }>();
  const verified = new Map<string, { keyId: string; teamId: string; iat: number }>();
  const verifying = new Map<string, Promise<boolean>>();
  const devices = new Map<string, MockDevice>();
  const topics = new Map<string, Set<string>>();
  const scripts = new Map<string, ScriptedResponse[]>();
  const counts = new Map<string, number>();
  const accepted: AcceptedPush[] = [];
  const stats = {
    requests: 0,
    accepted: 0,
    sessions: 0,
    peakStreams: 0,
    firstAcceptedAt: 0,
    lastAcceptedAt: 0,
    firstAccepts: [] as number[],
  };
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let goAwayAfter = options.goAwayAfter;
  let faults = options.faults;
  let random = mulberry32(faults?.seed ?? 1);

  function answer(
    stream: http2.ServerHttp2Stream,
    status: number,
    apnsId: string,
    body?: Record<string, unknown>,
    extra: Record<string, string> = {},
  ): void {
    if (stream.destroyed || stream.closed) return;
    stream.respond({ ":status": status, "apns-id": apnsId, ...extra });
    stream.end(body ? JSON.stringify(body) : undefined);
  }

  function later(ms: number, fn: () => void, stream: http2.ServerHttp2Stream): void {
    const id = setTimeout(() => {
      timers.delete(id);
      fn();
    }, ms);
    timers.add(id);
    stream.once("close", () => {
      clearTimeout(id);
      timers.delete(id);
    });
  }

  async function check(env: MockEnvironment, req: MockRequest): Promise<MockCheck> {
    const basic = validateRequest(req.headers, req.body);
    if (basic.kind === "reject") return basic;
    const token = basic.token;
    let auth: AcceptedPush["auth"];
    if (req.peer) {
      // As APNs: an issuer it does not trust, then the host's environment, then the topic.
      if (!req.peerAuthorized) return { kind: "reject", status: 403, reason: "BadCertificate" };
      if (!req.peer.environments.includes(env)) {
        return { kind: "reject", status: 403, reason: "BadCertificateEnvironment" };
      }
      if (!req.peer.topics.includes(req.headers["apns-topic"])) {
        return { kind: "reject", status: 400, reason: "TopicDisallowed" };
      }
      auth = { kind: "certificate", subject: req.peer.subject, fingerprint: req.peer.fingerprint };
    } else {
      const result = await verifyProviderToken(req.headers["authorization"], {
        keys,
        verified,
        verifying,
        acceptUnknownKeys: options.acceptUnknownKeys ?? false,
        now: now(),
        maxAgeMs: options.tokenMaxAgeMs ?? 3_600_000,
      });
      if (result.kind === "reject") return result;
      auth = result.auth;
    }
    const allowed = topics.get(auth.kind === "token" ? auth.teamId : auth.subject);
    if (allowed && !allowed.has(topicBundleId(req.headers["apns-topic"]))) {
      return { kind: "reject", status: 400, reason: "TopicDisallowed" };
    }
    const queue = scripts.get(token);
    const index = queue?.findIndex((r) => !r.environment || r.environment === env) ?? -1;
    if (queue && index >= 0) {
      const [scripted] = queue.splice(index, 1);
      if (queue.length === 0) scripts.delete(token);
      return { kind: "scripted", response: scripted };
    }
    const device = devices.get(token);
    if (device?.unregisteredAt !== undefined) {
      return {
        kind: "reject",
        status: 410,
        reason: "Unregistered",
        timestamp: device.unregisteredAt,
      };
    }
    if (device?.environment && device.environment !== env) {
      return { kind: "reject", status: 400, reason: "BadDeviceToken" };
    }
    if (device?.topic && device.topic !== req.headers["apns-topic"]) {
      return { kind: "reject", status: 400, reason: "DeviceTokenNotForTopic" };
    }
    return { kind: "ok", token, auth };
  }

  interface MockRequest {
    headers: Record<string, string>;
    body: Uint8Array;
    peer?: Awaited<ReturnType<typeof readClientCertificate>>;
    peerAuthorized: boolean;
  }

  // The client certificate is read once per connection.
  const peers = new WeakMap<http2.ServerHttp2Session, Promise<MockRequest["peer"]>>();
  function peerOf(session: http2.ServerHttp2Session): Promise<MockRequest["peer"]> {
    let peer = peers.get(session);
    if (!peer) {
      const raw = (session.socket as TLSSocket | undefined)?.getPeerCertificate?.()?.raw;
      peer = raw ? readClientCertificate(new Uint8Array(raw)) : Promise.resolve(undefined);
      peers.set(session, peer);
    }
    return peer;
  }

  function fault(stream: http2.ServerHttp2Stream, apnsId: string): boolean {
    if (!faults || random() >= faults.rate) return false;
    const kinds = faults.kinds ?? ["429", "503", "goaway"];
    const kind = kinds[Math.floor(random() * kinds.length)];
    const retryAfter = { "retry-after": String(faults.retryAfterSeconds ?? 0) };
    if (kind === "goaway") {
      stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, (stream.id ?? 1) - 1);
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    } else if (kind === "refused") stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    else if (kind === "429") answer(stream, 429, apnsId, { reason: "TooManyRequests" }, retryAfter);
    else if (kind === "500") answer(stream, 500, apnsId, { reason: "InternalServerError" });
    else answer(stream, 503, apnsId, { reason: "ServiceUnavailable" }, retryAfter);
    return true;
  }

  function onStream(
    env: MockEnvironment,
    stream: http2.ServerHttp2Stream,
    raw: http2.IncomingHttpHeaders,
  ) {
    stats.requests++;
    const session = stream.session as http2.ServerHttp2Session & {
      _mock?: { streams: number; open: number };
    };
    const counters = session._mock ??= { streams: 0, open: 0 };
    counters.streams++;
    counters.open++;
    stats.peakStreams = Math.max(stats.peakStreams, counters.open);
    stream.once("close", () => counters.open--);
    stream.on("error", () => {});
    if (raw[":path"] === "/_mock/stats" && raw[":method"] === "GET") {
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.end(JSON.stringify({ ...stats, perToken: Object.fromEntries(counts) }));
      return;
    }
    if (goAwayAfter !== undefined && counters.streams === goAwayAfter) {
      // Streams after this one that the client already sent are refused by the GOAWAY and must
      // be retried on a new connection; this one is still answered.
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) if (typeof v === "string") headers[k] = v;
    const chunks: Uint8Array[] = [];
    stream.on("data", (c: Uint8Array) => chunks.push(c));
    stream.on("end", async () => {
      const socket = session.socket as TLSSocket | undefined;
      // A client killed mid-request leaves no socket and nobody to answer.
      if (!socket || stream.destroyed) return;
      const apnsId = headers["apns-id"] ?? crypto.randomUUID();
      const body = chunks.length === 1 ? chunks[0] : concat(chunks);
      const result = await check(env, {
        headers,
        body,
        peer: await peerOf(session),
        peerAuthorized: socket.authorized,
      });
      if (result.kind === "reject") {
        const json = result.timestamp !== undefined
          ? { reason: result.reason, timestamp: result.timestamp }
          : { reason: result.reason };
        return answer(stream, result.status, apnsId, json);
      }
      if (result.kind === "scripted") {
        const r = result.response;
        const send = () => {
          const extra: Record<string, string> = r.retryAfter !== undefined
            ? { "retry-after": String(r.retryAfter) }
            : {};
          if (r.status === 200) return answer(stream, 200, apnsId, undefined, extra);
          const json: Record<string, unknown> = { reason: r.reason ?? "InternalServerError" };
          if (r.timestamp !== undefined) json.timestamp = r.timestamp;
          answer(stream, r.status, apnsId, json, extra);
        };
        return r.delayMs ? later(r.delayMs, send, stream) : send();
      }
      if (fault(stream, apnsId)) return;
      const push: AcceptedPush = {
        token: result.token,
        environment: env,
        apnsId,
        headers,
        payload: parseJson(body),
        auth: result.auth,
        at: now(),
      };
      counts.set(push.token, (counts.get(push.token) ?? 0) + 1);
      stats.accepted++;
      // Wall-clock times (not the injected clock): benchmarks compare them across processes.
      stats.lastAcceptedAt = Date.now();
      stats.firstAcceptedAt ||= stats.lastAcceptedAt;
      if (stats.firstAccepts.length < 10) stats.firstAccepts.push(stats.lastAcceptedAt);
      if (record) accepted.push(push);
      options.onAccepted?.(push);
      if (options.latencyMs) later(options.latencyMs, () => answer(stream, 200, apnsId), stream);
      else answer(stream, 200, apnsId);
    });
  }

  async function listen(env: MockEnvironment, port: number): Promise<http2.Http2SecureServer> {
    const server = http2.createSecureServer({
      key: ca.server.keyPem,
      cert: ca.server.certPem,
      ca: [ca.caPem, ...(options.clientCas ?? [])],
      allowHTTP1: false,
      requestCert: true,
      rejectUnauthorized: options.refuseUnknownClients ?? false,
      settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 },
    });
    server.on("session", (session) => {
      stats.sessions++;
      sessions.add(session);
      session.on("close", () => sessions.delete(session));
      session.on("error", () => {});
    });
    server.on("stream", (stream, headers) => onStream(env, stream, headers));
    await new Promise<void>((resolve) =>
      server.listen(port, options.hostname ?? "127.0.0.1", resolve)
    );
    return server;
  }

  const servers = {
    production: await listen("production", options.ports?.production ?? 0),
    development: await listen("development", options.ports?.development ?? 0),
  };
  const portOf = (s: http2.Http2SecureServer) => (s.address() as { port: number }).port;

  return {
    hosts: {
      production: `localhost:${portOf(servers.production)}`,
      development: `localhost:${portOf(servers.development)}`,
    },
    caPem: ca.caPem,
    ca,
    async addKey(keyId, teamId, key) {
      keys.set(keyId, { teamId, key: await toPublicKey(key) });
    },
    removeKey(keyId) {
      keys.delete(keyId);
      for (const [token, v] of verified) if (v.keyId === keyId) verified.delete(token);
    },
    device: (token, device) => void devices.set(token, device),
    allowTopics: (id, bundleIds) => void topics.set(id, new Set(bundleIds)),
    script(token, ...responses) {
      scripts.set(token, [...(scripts.get(token) ?? []), ...responses]);
    },
    setGoAwayAfter: (n) => void (goAwayAfter = n),
    dropConnections() {
      for (const session of sessions) {
        // A TCP reset, as a crashed peer's kernel sends, not an orderly close.
        const socket = session.socket as unknown as { resetAndDestroy?: () => void };
        if (socket.resetAndDestroy) socket.resetAndDestroy();
        else session.destroy();
      }
    },
    setFaults(next) {
      faults = next;
      random = mulberry32(next?.seed ?? 1);
    },
    openSessionsByCertificate() {
      const open = new Map<string, number>();
      for (const session of sessions) {
        const raw = (session.socket as TLSSocket | undefined)?.getPeerCertificate?.()?.raw;
        if (!raw || session.closed || session.destroyed) continue;
        const fingerprint = fingerprintOf(new Uint8Array(raw));
        open.set(fingerprint, (open.get(fingerprint) ?? 0) + 1);
      }
      return open;
    },
    accepted,
    countFor: (token) => counts.get(token) ?? 0,
    stats,
    async close() {
      for (const id of timers) clearTimeout(id);
      timers.clear();
      const closed = Object.values(servers).map((s) => new Promise((r) => s.close(r)));
      for (const session of sessions) session.destroy();
      await Promise.all(closed);
      if (ownCa) await ca.cleanup();
    },
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return null;
  }
}

function fingerprintOf(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}
