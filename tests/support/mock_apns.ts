/**
 * A mock of APNs: a real HTTP/2-over-TLS server (no HTTP/1.1) with a per-run test CA, serving a
 * production and a development "host" on two ports that share state. It verifies ES256 provider
 * tokens against registered keys (or client certificates), enforces APNs' request rules, and can
 * be scripted per token (410, BadDeviceToken on one host, 429, 5xx, delays, GOAWAY) or told to
 * inject random faults for campaign tests.
 *
 * The TLS + HTTP/2 servers run in a Node child process (mock_apns_front.mjs, through
 * mock_apns_link.ts), because Deno's `node:http2` server can abort inside nghttp2 when a client
 * closes after heavy traffic (denoland/deno#36788). Everything else lives here, in the caller's
 * process: keys, devices, scripts, faults, counters and `accepted` are plain reads, and every
 * answer is decided here before the front sends it. Without Node the front runs in-process.
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
import { createTestCa } from "./test_ca.ts";
import {
  type AcceptedPush,
  type MockApns,
  type MockApnsOptions,
  type MockDevice,
  type MockEnvironment,
  type ScriptedResponse,
} from "./mock_apns_types.ts";
import { mulberry32 } from "./seeded_random.ts";
import {
  type ClientCertificate,
  type MockCheck,
  readClientCertificate,
  topicBundleId,
  validateRequest,
  verifyProviderToken,
} from "./mock_apns_rules.ts";
import { type FrontEvent, startFront } from "./mock_apns_link.ts";

/** Accepts this far apart (ms) start a new burst in `stats.burstStarts`. */
const BURST_GAP_MS = 50;

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
    burstStarts: [] as number[],
  };
  /** Open connections, mirrored from the front's events. */
  const sessions = new Map<number, Session>();
  const drops = new Map<number, () => void>();
  let nextDrop = 0;
  let faults = options.faults;
  let random = mulberry32(faults?.seed ?? 1);

  function answer(
    n: number,
    status: number,
    apnsId: string,
    body?: Record<string, unknown>,
    extra: Record<string, string> = {},
    delayMs?: number,
  ): void {
    link.send({
      t: "res",
      n,
      status,
      headers: { "apns-id": apnsId, ...extra },
      body: body ? JSON.stringify(body) : undefined,
      delayMs: delayMs || undefined,
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
    peer?: ClientCertificate;
    peerAuthorized: boolean;
  }

  function fault(req: Extract<FrontEvent, { t: "req" }>, apnsId: string): boolean {
    if (!faults || random() >= faults.rate) return false;
    const kinds = faults.kinds ?? ["429", "503", "goaway"];
    const kind = kinds[Math.floor(random() * kinds.length)];
    const retryAfter = { "retry-after": String(faults.retryAfterSeconds ?? 0) };
    if (kind === "goaway") link.send({ t: "res", n: req.n, goaway: req.stream - 1, refuse: true });
    else if (kind === "refused") link.send({ t: "res", n: req.n, refuse: true });
    else if (kind === "429") answer(req.n, 429, apnsId, { reason: "TooManyRequests" }, retryAfter);
    else if (kind === "500") answer(req.n, 500, apnsId, { reason: "InternalServerError" });
    else answer(req.n, 503, apnsId, { reason: "ServiceUnavailable" }, retryAfter);
    return true;
  }

  async function onRequest(req: Extract<FrontEvent, { t: "req" }>): Promise<void> {
    const { n, env, headers } = req;
    if (headers[":path"] === "/_mock/stats" && headers[":method"] === "GET") {
      return link.send({
        t: "res",
        n,
        status: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...stats, perToken: Object.fromEntries(counts) }),
      });
    }
    const session = sessions.get(req.session);
    const apnsId = headers["apns-id"] ?? crypto.randomUUID();
    const body = Uint8Array.fromBase64(req.body);
    const result = await check(env, {
      headers,
      body,
      peer: await session?.peer,
      peerAuthorized: session?.authorized ?? false,
    });
    if (result.kind === "reject") {
      const json = result.timestamp !== undefined
        ? { reason: result.reason, timestamp: result.timestamp }
        : { reason: result.reason };
      return answer(n, result.status, apnsId, json);
    }
    if (result.kind === "scripted") {
      const r = result.response;
      const extra: Record<string, string> = r.retryAfter !== undefined
        ? { "retry-after": String(r.retryAfter) }
        : {};
      if (r.status === 200) return answer(n, 200, apnsId, undefined, extra, r.delayMs);
      const json: Record<string, unknown> = { reason: r.reason ?? "InternalServerError" };
      if (r.timestamp !== undefined) json.timestamp = r.timestamp;
      return answer(n, r.status, apnsId, json, extra, r.delayMs);
    }
    if (fault(req, apnsId)) return;
    counts.set(result.token, (counts.get(result.token) ?? 0) + 1);
    stats.accepted++;
    // Wall-clock times (not the injected clock): benchmarks compare them across processes.
    const previous = stats.lastAcceptedAt;
    stats.lastAcceptedAt = Date.now();
    stats.firstAcceptedAt ||= stats.lastAcceptedAt;
    if (stats.firstAccepts.length < 10) stats.firstAccepts.push(stats.lastAcceptedAt);
    // The first accept after a quiet spell: where each of several campaigns began.
    if (stats.lastAcceptedAt - previous > BURST_GAP_MS) {
      stats.burstStarts.push(stats.lastAcceptedAt);
      // Many kept: a long campaign pauses (GC, a busy machine) and must not push its own start out.
      if (stats.burstStarts.length > 1_000) stats.burstStarts.shift();
    }
    // Recorded before it is answered: a test that has its 200 finds it in `accepted`.
    if (record || options.onAccepted) {
      const push: AcceptedPush = {
        token: result.token,
        environment: env,
        apnsId,
        headers,
        payload: parseJson(body),
        auth: result.auth,
        at: now(),
      };
      if (record) accepted.push(push);
      options.onAccepted?.(push);
    }
    answer(n, 200, apnsId, undefined, {}, options.latencyMs);
  }

  function onEvent(event: FrontEvent): void {
    switch (event.t) {
      case "req":
        stats.requests++;
        onRequest(event).catch((error) => {
          console.error("mock APNs:", error);
          answer(event.n, 500, crypto.randomUUID(), { reason: "InternalServerError" });
        });
        break;
      case "open": {
        stats.sessions++;
        // The client certificate is read once per connection.
        const der = event.cert ? Uint8Array.fromBase64(event.cert) : undefined;
        sessions.set(event.session, {
          authorized: event.authorized,
          peer: der ? readClientCertificate(der) : undefined,
          fingerprint: der ? fingerprintOf(der) : undefined,
        });
        break;
      }
      case "close":
        sessions.delete(event.session);
        break;
      case "peak":
        stats.peakStreams = Math.max(stats.peakStreams, event.peak);
        break;
      case "lost": // a stream that ended before its request did still counts as a request
        stats.requests++;
        break;
      case "dropped":
        drops.get(event.id)?.();
        drops.delete(event.id);
        break;
    }
  }

  // A front that cannot listen (a port taken) leaves no generated CA behind.
  const link = await (async () => {
    try {
      return await startFront(
        {
          key: ca.server.keyPem,
          cert: ca.server.certPem,
          ca: [ca.caPem, ...(options.clientCas ?? [])],
          hostname: options.hostname ?? "127.0.0.1",
          ports: {
            production: options.ports?.production ?? 0,
            development: options.ports?.development ?? 0,
          },
          refuseUnknownClients: options.refuseUnknownClients ?? false,
          maxConcurrentStreams: options.maxConcurrentStreams ?? 1000,
          goAwayAfter: options.goAwayAfter ?? null,
        },
        onEvent,
        options.front,
      );
    } catch (error) {
      if (ownCa) await ca.cleanup();
      throw error;
    }
  })();

  return {
    hosts: {
      production: `localhost:${link.ports.production}`,
      development: `localhost:${link.ports.development}`,
    },
    caPem: ca.caPem,
    ca,
    front: link.mode,
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
    setGoAwayAfter: (n) => link.send({ t: "goAwayAfter", n: n ?? null }),
    dropConnections() {
      const id = ++nextDrop;
      const done = new Promise<void>((resolve) => drops.set(id, resolve));
      link.send({ t: "drop", id });
      return done;
    },
    setFaults(next) {
      faults = next;
      random = mulberry32(next?.seed ?? 1);
    },
    openSessionsByCertificate() {
      const open = new Map<string, number>();
      for (const { fingerprint } of sessions.values()) {
        if (fingerprint) open.set(fingerprint, (open.get(fingerprint) ?? 0) + 1);
      }
      return open;
    },
    accepted,
    countFor: (token) => counts.get(token) ?? 0,
    stats,
    async close() {
      await link.close();
      if (ownCa) await ca.cleanup();
    },
  };
}

/** One connection as the state sees it. */
interface Session {
  authorized: boolean;
  /** The client certificate, read as APNs reads it; none with token auth. */
  peer?: Promise<ClientCertificate>;
  fingerprint?: string;
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
