/**
 * An app's APNs credential as the relay receives it, and the connection credential the
 * transport pools its connections by: token auth shares one pool per team, a certificate gets
 * its own (mTLS), named by its fingerprint.
 *
 * @module
 */
import type { CertificateSummary } from "./certificate.ts";
import type { TokenCredential } from "./jwt.ts";
import type { ConnectionCredential } from "./connection_pool.ts";

/** An app's APNs credential. */
export type AppCredential =
  | ({ kind: "token" } & TokenCredential)
  | {
    kind: "certificate";
    certPem: string;
    keyPem: string;
    /** What the certificate allows, checked before each push (see certificateRefusal). */
    summary?: CertificateSummary;
  };

/**
 * The transport credential for an app credential: token auth shares one connection pool per
 * team; a certificate gets its own pool (mTLS), keyed by the certificate's fingerprint.
 */
export async function connectionFor(cred: AppCredential): Promise<ConnectionCredential> {
  if (cred.kind === "token") return { kind: "token", id: cred.teamId };
  return {
    kind: "certificate",
    id: cred.summary?.fingerprint ?? await fingerprint(cred.certPem),
    certPem: cred.certPem,
    keyPem: cred.keyPem,
  };
}

/** A short id for a certificate uploaded without a summary: SHA-256 of its PEM, 8 bytes. */
async function fingerprint(pem: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pem));
  return Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}
