/**
 * Reading an APNs certificate credential in the forms teams hold it: a `.p12` as Keychain
 * Access exports it (PKCS#12, decrypted by `node-forge`, which reads both the legacy 3DES/RC2
 * and the current AES encryptions), or a PEM certificate with its PEM private key (which may be
 * encrypted). Every refusal says what to do. Used by app uploads and by `deno task push`.
 *
 * @module
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import forgeModule from "node-forge";
import { type CertificateSummary, derToPem, parseCertificate } from "./certificate.ts";
import { ValidationFailed } from "../errors.ts";

/** A certificate credential as uploaded (see `ApnsCertificateInput`). */
export type CertificateUpload =
  | { p12: string; password?: string }
  | { certificate: string; privateKey: string; password?: string };

/** A readable, usable certificate credential: PEMs to seal and the summary to show. */
export interface CertificateCredential {
  certificatePem: string;
  /** Unencrypted PKCS#8 PEM (sealed at rest by the apps store). */
  privateKeyPem: string;
  summary: CertificateSummary;
}

// The part of node-forge used here, typed locally: @types/node-forge would pull a second
// @types/node into the type check and change every node: module's types.
interface ForgeAsn1 {
  readonly _asn1: unique symbol;
}
interface ForgeBag {
  cert?: unknown;
  key?: unknown;
  asn1?: ForgeAsn1;
}
interface Forge {
  asn1: {
    fromDer(bytes: unknown, strict: boolean): ForgeAsn1;
    toDer(asn1: ForgeAsn1): { getBytes(): string };
  };
  util: { createBuffer(binary: string): unknown };
  pkcs12: {
    pkcs12FromAsn1(asn1: ForgeAsn1, strict: boolean, password: string): {
      getBags(filter: { bagType: string }): Record<string, ForgeBag[] | undefined>;
    };
  };
  pki: {
    oids: Record<string, string>;
    certificateToAsn1(cert: unknown): ForgeAsn1;
    privateKeyToAsn1(key: unknown): ForgeAsn1;
    wrapRsaPrivateKey(asn1: ForgeAsn1): ForgeAsn1;
  };
}
const forge = forgeModule as unknown as Forge;

function refuse(path: string, message: string): never {
  throw new ValidationFailed(message, [{ path, message }]);
}

/** How refusals name the inputs: API fields by default, CLI flags for `deno task push`. */
export interface CertificateInputNames {
  p12: string;
  password: string;
  certificate: string;
  privateKey: string;
}

const API_NAMES: CertificateInputNames = {
  p12: "certificate.p12",
  password: "certificate.password",
  certificate: "certificate.certificate",
  privateKey: "certificate.privateKey",
};

/**
 * Decodes a certificate credential (a .p12, or PEM certificate and key) and checks that the key
 * belongs to the certificate. It does not judge validity dates or topics (see the apps'
 * `readCertificateUpload` for the upload rules).
 *
 * @throws {ValidationFailed} naming what is wrong and how to fix it.
 */
export async function readCertificateFiles(
  upload: CertificateUpload,
  names: CertificateInputNames = API_NAMES,
): Promise<CertificateCredential> {
  const { certificates, key } = "p12" in upload
    ? readP12(upload.p12, upload.password ?? "", names)
    : readPem(upload.certificate, upload.privateKey, upload.password, names);
  const der = certificates.find((c) => matches(c, key));
  if (!der) {
    refuse(
      "certificate",
      "the private key does not belong to the certificate: export them together (in Keychain " +
        "Access, expand the certificate and select it with its key)",
    );
  }
  const { summary } = await parseCertificate(der);
  return {
    certificatePem: derToPem(der),
    privateKeyPem: key.export({ type: "pkcs8", format: "pem" }).toString(),
    summary,
  };
}

function matches(der: Uint8Array, key: KeyObject): boolean {
  try {
    return new X509Certificate(der).checkPrivateKey(key);
  } catch {
    return false;
  }
}

function readP12(
  base64: string,
  password: string,
  names: CertificateInputNames,
): { certificates: Uint8Array[]; key: KeyObject } {
  let binary: string;
  try {
    binary = atob(base64.replace(/\s+/g, ""));
  } catch {
    refuse(names.p12, `${names.p12} must be the base64 of the .p12 file`);
  }
  let p12: ReturnType<Forge["pkcs12"]["pkcs12FromAsn1"]>;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(binary), true);
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, password);
  } catch (error) {
    const message = (error as Error).message ?? "";
    if (/password|MAC could not be verified|decrypt/i.test(message)) {
      if (password === "") {
        refuse(
          names.password,
          `the .p12 needs its password: give it in ${names.password}`,
        );
      }
      refuse(
        names.password,
        "the .p12 password is wrong: give the password chosen when the .p12 was exported " +
          "(an empty string when none was)",
      );
    }
    refuse(names.p12, `${names.p12} is not a PKCS#12 (.p12) file`);
  }
  const oids = forge.pki.oids;
  const bags = (type: string) => p12.getBags({ bagType: type })[type] ?? [];
  const certificates = bags(oids.certBag).flatMap((bag) => {
    const asn1 = bag.asn1 ?? (bag.cert ? forge.pki.certificateToAsn1(bag.cert) : null);
    return asn1 ? [toBytes(forge.asn1.toDer(asn1).getBytes())] : [];
  });
  const keys = [...bags(oids.pkcs8ShroudedKeyBag), ...bags(oids.keyBag)].flatMap((bag) => {
    const info = bag.key
      ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key))
      : bag.asn1;
    return info ? [toBytes(forge.asn1.toDer(info).getBytes())] : [];
  });
  if (certificates.length === 0) {
    refuse(names.p12, "not a certificate: the .p12 holds no certificate");
  }
  if (keys.length === 0) {
    refuse(
      names.p12,
      "the .p12 holds no private key: export the certificate together with its key (in " +
        "Keychain Access, expand the certificate and select both before exporting)",
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(keys[0]), format: "der", type: "pkcs8" });
  } catch {
    refuse(names.p12, "the .p12's private key cannot be read");
  }
  return { certificates, key };
}

function readPem(
  certificatePem: string,
  privateKeyPem: string,
  password: string | undefined,
  names: CertificateInputNames,
): { certificates: Uint8Array[]; key: KeyObject } {
  const certificates: Uint8Array[] = [];
  const blocks = certificatePem.match(
    /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g,
  );
  for (const block of blocks ?? []) {
    try {
      certificates.push(new Uint8Array(new X509Certificate(block).raw));
    } catch {
      // An unreadable block is reported below when none is left.
    }
  }
  if (certificates.length === 0) {
    refuse(
      names.certificate,
      `not a certificate: ${names.certificate} must be a PEM X.509 certificate ` +
        "(-----BEGIN CERTIFICATE-----)",
    );
  }
  const encrypted = /ENCRYPTED/.test(privateKeyPem);
  if (encrypted && password === undefined) {
    refuse(
      names.password,
      `${names.privateKey} is encrypted: give its password in ${names.password}`,
    );
  }
  try {
    const key = createPrivateKey(
      encrypted ? { key: privateKeyPem, format: "pem", passphrase: password } : privateKeyPem,
    );
    return { certificates, key };
  } catch {
    if (encrypted) {
      refuse(names.password, `${names.password} does not decrypt ${names.privateKey}`);
    }
    refuse(
      names.privateKey,
      `${names.privateKey} is not a PEM private key (-----BEGIN PRIVATE KEY-----)`,
    );
  }
}

function toBytes(binary: string): Uint8Array {
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}
