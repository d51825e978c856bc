/**
 * The mock APNs' request rules: path, headers, push type/priority/topic consistency, payload
 * limits, and ES256 provider-token verification. Kept apart from the server plumbing.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import * as asn1js from "asn1js";

/** The outcome of checking one request. */
export type MockCheck =
  | { kind: "reject"; status: number; reason: string; timestamp?: number }
  | {
    kind: "scripted";
    response: {
      status: number;
      reason?: string;
      timestamp?: number;
      retryAfter?: number;
      delayMs?: number;
    };
  }
  | {
    kind: "ok";
    token: string;
    auth: { kind: "token"; teamId: string; keyId: string } | {
      kind: "certificate";
      subject: string;
      fingerprint: string;
    };
  };

type Reject = Extract<MockCheck, { kind: "reject" }>;

const PUSH_TYPES = new Set([
  "alert",
  "background",
  "voip",
  "liveactivity",
  "location",
  "complication",
  "fileprovider",
  "mdm",
  "pushtotalk",
]);
const SUFFIX: Record<string, string> = {
  voip: ".voip",
  complication: ".complication",
  fileprovider: ".pushkit.fileprovider",
  liveactivity: ".push-type.liveactivity",
  pushtotalk: ".voip-ptt",
  location: ".location-query",
};
const SUFFIXES = Object.values(SUFFIX);

/** The bundle id a topic names: the topic without its push type's suffix. */
export function topicBundleId(topic: string): string {
  const suffix = SUFFIXES.find((s) => topic.endsWith(s));
  return suffix ? topic.slice(0, -suffix.length) : topic;
}

const reject = (status: number, reason: string): Reject => ({ kind: "reject", status, reason });

/** Checks everything about a request that does not need keys or state. */
export function validateRequest(
  headers: Record<string, string>,
  body: Uint8Array,
): Reject | { kind: "valid"; token: string } {
  if (headers[":method"] !== "POST") return reject(405, "MethodNotAllowed");
  const match = /^\/3\/device\/([^/?]+)$/.exec(headers[":path"] ?? "");
  if (!match) return reject(404, "BadPath");
  const token = match[1];
  if (!/^[0-9a-fA-F]{64,200}$/.test(token)) return reject(400, "BadDeviceToken");
  const topic = headers["apns-topic"];
  if (!topic) return reject(400, "MissingTopic");
  const pushType = headers["apns-push-type"] ?? "alert";
  if (!PUSH_TYPES.has(pushType)) return reject(400, "InvalidPushType");
  const priority = headers["apns-priority"] ?? "10";
  if (!["10", "5", "1"].includes(priority)) return reject(400, "BadPriority");
  if (pushType === "background" && priority !== "5") return reject(400, "BadPriority");
  const suffix = SUFFIX[pushType];
  if (suffix && !topic.endsWith(suffix)) return reject(400, "TopicDisallowed");
  if (!suffix && pushType !== "mdm" && SUFFIXES.some((s) => topic.endsWith(s))) {
    return reject(400, "TopicDisallowed");
  }
  const collapseId = headers["apns-collapse-id"];
  if (collapseId !== undefined && new TextEncoder().encode(collapseId).byteLength > 64) {
    return reject(400, "BadCollapseId");
  }
  const expiration = headers["apns-expiration"];
  if (expiration !== undefined && !/^\d+$/.test(expiration)) {
    return reject(400, "BadExpirationDate");
  }
  if (body.byteLength === 0) return reject(400, "PayloadEmpty");
  if (body.byteLength > (pushType === "voip" ? 5120 : 4096)) return reject(413, "PayloadTooLarge");
  return { kind: "valid", token };
}

function fromBase64url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
}

/** Verifies `authorization: bearer <ES256 JWT>` against registered keys. */
export async function verifyProviderToken(
  authorization: string | undefined,
  ctx: {
    keys: Map<string, { teamId: string; key: CryptoKey }>;
    verified: Map<string, { keyId: string; teamId: string; iat: number }>;
    /** Signature checks under way, by token: concurrent first requests share one. */
    verifying?: Map<string, Promise<boolean>>;
    acceptUnknownKeys: boolean;
    now: number;
    maxAgeMs: number;
  },
): Promise<Reject | { kind: "ok"; auth: { kind: "token"; teamId: string; keyId: string } }> {
  if (!authorization?.startsWith("bearer ")) return reject(403, "MissingProviderToken");
  const jwt = authorization.slice(7);
  let claims = ctx.verified.get(jwt);
  if (!claims) {
    const parts = jwt.split(".");
    if (parts.length !== 3) return reject(403, "InvalidProviderToken");
    let header: { alg?: string; kid?: string };
    let body: { iss?: string; iat?: number };
    try {
      header = JSON.parse(new TextDecoder().decode(fromBase64url(parts[0])));
      body = JSON.parse(new TextDecoder().decode(fromBase64url(parts[1])));
    } catch {
      return reject(403, "InvalidProviderToken");
    }
    if (header.alg !== "ES256" || !header.kid || !body.iss || typeof body.iat !== "number") {
      return reject(403, "InvalidProviderToken");
    }
    const known = ctx.keys.get(header.kid);
    if (known) {
      let verifying = ctx.verifying?.get(jwt);
      if (!verifying) {
        verifying = crypto.subtle.verify(
          { name: "ECDSA", hash: "SHA-256" },
          known.key,
          fromBase64url(parts[2]) as Uint8Array<ArrayBuffer>,
          new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
        );
        ctx.verifying?.set(jwt, verifying);
        verifying.catch(() => false).then(() => ctx.verifying?.delete(jwt));
      }
      const ok = await verifying;
      if (!ok || known.teamId !== body.iss) return reject(403, "InvalidProviderToken");
    } else if (!ctx.acceptUnknownKeys) {
      return reject(403, "InvalidProviderToken");
    }
    claims = { keyId: header.kid, teamId: body.iss, iat: body.iat };
    // Real APNs verifies a token once per connection; caching keeps the mock's CPU cost close.
    if (ctx.verified.size > 10_000) ctx.verified.clear();
    ctx.verified.set(jwt, claims);
  }
  if (ctx.now - claims.iat * 1000 >= ctx.maxAgeMs) return reject(403, "ExpiredProviderToken");
  return { kind: "ok", auth: { kind: "token", teamId: claims.teamId, keyId: claims.keyId } };
}

/** What APNs reads from a client certificate: Apple's environment OIDs and topics. */
export interface ClientCertificate {
  subject: string;
  environments: Array<"production" | "development">;
  topics: string[];
  fingerprint: string;
}

/**
 * Reads a client certificate as APNs does: the environments from Apple's extensions
 * (…6.3.1 development, …6.3.2 production), the topics from the subject UID and the topics
 * extension (…6.3.6). Kept apart from lib/'s reader so that the mock checks it independently.
 */
export function readClientCertificate(der: Uint8Array): Promise<ClientCertificate> {
  const tbs = AsnConvert.parse(der, Certificate).tbsCertificate;
  const attributes = tbs.subject.flatMap((rdn) => [...rdn]);
  const value = (oid: string) => attributes.find((a) => a.type === oid)?.value.toString();
  const extension = (oid: string) => tbs.extensions?.find((e) => e.extnID === oid);
  const environments: ClientCertificate["environments"] = [];
  if (extension("1.2.840.113635.100.6.3.1")) environments.push("development");
  if (extension("1.2.840.113635.100.6.3.2")) environments.push("production");
  const topics = new Set<string>();
  const uid = value("0.9.2342.19200300.100.1.1");
  if (uid) topics.add(uid);
  const topicsExtension = extension("1.2.840.113635.100.6.3.6");
  if (topicsExtension) {
    const decoded = asn1js.fromBER(topicsExtension.extnValue.buffer);
    if (decoded.result instanceof asn1js.Sequence) {
      for (const item of decoded.result.valueBlock.value) {
        if (item instanceof asn1js.Utf8String) topics.add(item.getValue());
      }
    }
  }
  return Promise.resolve({
    subject: value("2.5.4.3") ?? "",
    environments,
    topics: [...topics],
    fingerprint: createHash("sha256").update(der).digest("hex"),
  });
}
