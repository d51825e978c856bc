/**
 * The mock APNs' public shapes: what a test can script (device facts, one-shot responses, random
 * faults), what the mock records, and the handle `startMockApns` (mock_apns.ts) returns.
 *
 * @module
 */
import type { TestCa } from "./test_ca.ts";

/** Which APNs host a listener plays. */
export type MockEnvironment = "production" | "development";

/** A response scripted for one request to one token. */
export interface ScriptedResponse {
  status: number;
  reason?: string;
  /** For 410: APNs' `timestamp` (epoch ms). */
  timestamp?: number;
  /** `retry-after` header in seconds (for 429/503). */
  retryAfter?: number;
  /** Wait before answering. */
  delayMs?: number;
  /** Only on this host; default either. */
  environment?: MockEnvironment;
}

/** What a device token is, from the mock's point of view. */
export interface MockDevice {
  /** The host that knows it; the other host answers `BadDeviceToken`. Default: both. */
  environment?: MockEnvironment;
  /** The topic it belongs to; other topics get `DeviceTokenNotForTopic`. Default: any. */
  topic?: string;
  /** When set, every push gets `410 Unregistered` with this timestamp (epoch ms). */
  unregisteredAt?: number;
}

/** Kinds of random fault. */
export type FaultKind = "429" | "500" | "503" | "goaway" | "refused";

/** Random fault injection. */
export interface FaultOptions {
  /** Probability per request, 0..1. */
  rate: number;
  /** Default `["429", "503", "goaway"]`. */
  kinds?: FaultKind[];
  /** PRNG seed; default 1 (reproducible). */
  seed?: number;
  /** `retry-after` seconds on injected 429/503; default 0. */
  retryAfterSeconds?: number;
}

/** Options of `startMockApns` (mock_apns.ts). */
export interface MockApnsOptions {
  /** A CA to reuse; default a fresh one, removed on close. */
  ca?: TestCa;
  /** Listen address; default 127.0.0.1. */
  hostname?: string;
  /** Ports; default 0 (free ports). */
  ports?: { production?: number; development?: number };
  /** Accept tokens whose `kid` is not registered (signature unchecked); default false. */
  acceptUnknownKeys?: boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS; default 1000 (APNs' own). */
  maxConcurrentStreams?: number;
  /** Age at which a provider token is `ExpiredProviderToken`; default 60 minutes. */
  tokenMaxAgeMs?: number;
  /** Clock in epoch ms; default `Date.now`. */
  now?: () => number;
  /** Send GOAWAY on a connection after this many streams; default never. */
  goAwayAfter?: number;
  /** Random faults; default none. */
  faults?: FaultOptions;
  /** Every accepted push is answered this long after it arrived, ms; default 0 (at once). */
  latencyMs?: number;
  /** Keep every accepted push in `accepted`; default true (counts are always kept). */
  record?: boolean;
  /** Called for every accepted push (the CLI logs with it). */
  onAccepted?: (push: AcceptedPush) => void;
  /**
   * Refuse the TLS handshake of a client certificate the CA did not issue (and of clients with
   * none), instead of answering `BadCertificate`; default false.
   */
  refuseUnknownClients?: boolean;
  /** More CAs (PEM) whose client certificates the mock trusts, besides its own; default none. */
  clientCas?: string[];
  /**
   * Where the HTTP/2 front runs (mock_apns_link.ts): `auto` (default) a Node child process when
   * `node` is on PATH, else in this process; `node` requires Node; `in-process` never uses it.
   */
  front?: "auto" | "node" | "in-process";
}

/** One notification the mock accepted. */
export interface AcceptedPush {
  token: string;
  environment: MockEnvironment;
  apnsId: string;
  headers: Record<string, string>;
  payload: unknown;
  /** `token` (JWT) or `certificate` (the client certificate's CN and SHA-256 fingerprint). */
  auth:
    | { kind: "token"; teamId: string; keyId: string }
    | { kind: "certificate"; subject: string; fingerprint: string };
  at: number;
}

/** A running mock. */
export interface MockApns {
  /** `host:port` per environment, for the transport's host overrides. */
  hosts: Record<MockEnvironment, string>;
  /** The CA to trust. */
  caPem: string;
  /** The CA (to issue client certificates for certificate-auth tests). */
  ca: TestCa;
  /** Where the HTTP/2 front runs: a Node child process, or this process (no Node on PATH). */
  readonly front: "node" | "in-process";
  /** Registers a verification key (SPKI public PEM, PKCS#8 private PEM, or CryptoKey). */
  addKey(keyId: string, teamId: string, key: string | CryptoKey): Promise<void>;
  /** Forgets a key: its tokens become `InvalidProviderToken`. */
  removeKey(keyId: string): void;
  /** Declares what a device token is. */
  device(token: string, device: MockDevice): void;
  /**
   * Limits the bundle ids a credential may push to, as APNs does: `id` is a team id (token auth)
   * or a client certificate's subject CN. A topic of another app (its push type's suffix aside)
   * is `400 TopicDisallowed`. Credentials never named may push to any topic.
   */
  allowTopics(id: string, bundleIds: string[]): void;
  /** Queues one-shot responses for a token, consumed in order. */
  script(token: string, ...responses: ScriptedResponse[]): void;
  /**
   * Cuts every connection at once, without GOAWAY, as a network failure would (a TCP reset);
   * resolves once the sockets are reset.
   */
  dropConnections(): Promise<void>;
  /** Changes GOAWAY-after-N for new streams (undefined = never). */
  setGoAwayAfter(n: number | undefined): void;
  /** Changes random faults (undefined = none). */
  setFaults(faults: FaultOptions | undefined): void;
  /** Accepted pushes, in order (when `record`). */
  readonly accepted: readonly AcceptedPush[];
  /** Accepted pushes for one token. */
  countFor(token: string): number;
  /**
   * Counters: requests seen, accepted, connections opened, peak in-flight streams per connection,
   * and when the first and the latest push were accepted (epoch ms, wall clock; 0 before any),
   * and the times of the first ten.
   */
  readonly stats: {
    requests: number;
    accepted: number;
    sessions: number;
    peakStreams: number;
    firstAcceptedAt: number;
    lastAcceptedAt: number;
    firstAccepts: number[];
    /** Wall-clock times of the first accept after 50 ms without one (the last 1,000). */
    burstStarts: number[];
  };
  /** Open client connections by the SHA-256 fingerprint of their client certificate. */
  openSessionsByCertificate(): Map<string, number>;
  /** Stops both listeners and removes a generated CA. */
  close(): Promise<void>;
}
