/**
 * A throwaway certificate authority per test run, made with the openssl CLI: a CA, a server
 * certificate for localhost/127.0.0.1 (the mock APNs), and client certificates for
 * certificate-auth tests, among them APNs-like ones carrying Apple's environment and topics
 * extensions, exported as .p12 files too. Nothing touches the system trust store; clients get
 * `caPem`. No certificate is committed: every one is made at run time.
 *
 * @module
 */

/** A PEM certificate and its PKCS#8 private key. */
export interface CertPair {
  certPem: string;
  keyPem: string;
}

/** What an APNs-like certificate carries (see {@linkcode TestCa.issueApns}). */
export interface ApnsCertOptions {
  /** The subject UID (the bundle id). */
  bundleId: string;
  /** Apple's environment extensions to include; default both ("Sandbox & Production"). */
  environments?: Array<"development" | "production">;
  /** Entries of the topics extension (1.2.840.113635.100.6.3.6); default none (no extension). */
  topics?: string[];
  /** Validity start, in days from now (negative: past); default -1. */
  startDays?: number;
  /** Validity end, in days from now (negative: already expired); default 365. */
  endDays?: number;
  /** Key type; default "rsa" (Apple's are RSA 2048). */
  keyType?: "rsa" | "ec";
}

/** An APNs-like certificate, with its exports. */
export interface ApnsCert extends CertPair {
  /** Exports a .p12 (base64) with `password`; `legacy` uses RC2/3DES as older Keychains do. */
  p12(password: string, options?: { legacy?: boolean; withoutKey?: boolean }): Promise<string>;
  /** The private key as an encrypted PKCS#8 PEM. */
  encryptedKeyPem(password: string): Promise<string>;
}

/** A generated CA with a server certificate signed by it. */
export interface TestCa {
  /** The CA certificate, to trust in clients. */
  caPem: string;
  /** The CA's private key (PEM), to sign client certificates with openssl as Apple would. */
  caKeyPem: string;
  /** Server certificate for `localhost` and `127.0.0.1`. */
  server: CertPair;
  /** Issues a client certificate (CN = `commonName`) valid for `days` (default 2; negative = expired). */
  issueClient(commonName: string, options?: { days?: number }): Promise<CertPair>;
  /**
   * Issues an APNs-like client certificate: subject `UID=<bundleId>, CN=Apple Push Services:
   * <bundleId>`, Apple's environment extensions and an optional topics extension.
   */
  issueApns(options: ApnsCertOptions): Promise<ApnsCert>;
  /** Removes the working directory. */
  cleanup(): Promise<void>;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function newKey(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    name,
  ]);
}

/** Generates a fresh CA and a localhost server certificate in a temp dir. */
export async function createTestCa(): Promise<TestCa> {
  const dir = await Deno.makeTempDir({ prefix: "edgepush-ca-" });
  await newKey(dir, "ca.key");
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-sha256",
    "-days",
    "2",
    "-subj",
    "/CN=edgepush test CA",
    "-out",
    "ca.pem",
  ]);
  let serial = 1;
  async function issue(cn: string, ext: string, days: number): Promise<CertPair> {
    const n = serial++;
    await newKey(dir, `${n}.key`);
    await openssl(dir, [
      "req",
      "-new",
      "-key",
      `${n}.key`,
      "-subj",
      `/CN=${cn}`,
      "-out",
      `${n}.csr`,
    ]);
    await Deno.writeTextFile(`${dir}/${n}.ext`, ext);
    // A negative -days gives notAfter in the past: an already-expired certificate for expiry
    // tests (openssl 3.0 has no -not_after).
    const validity = ["-days", String(days)];
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${n}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-set_serial",
      String(1000 + n),
      "-sha256",
      ...validity,
      "-extfile",
      `${n}.ext`,
      "-out",
      `${n}.pem`,
    ]);
    return {
      certPem: await Deno.readTextFile(`${dir}/${n}.pem`),
      keyPem: await Deno.readTextFile(`${dir}/${n}.key`),
    };
  }
  const server = await issue(
    "localhost",
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    2,
  );
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(`${dir}/ca.cnf`, CA_CONFIG);
  async function issueApns(o: ApnsCertOptions): Promise<ApnsCert> {
    const n = serial++;
    if ((o.keyType ?? "rsa") === "rsa") {
      await openssl(dir, [
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        `${n}.key`,
      ]);
    } else await newKey(dir, `${n}.key`);
    const subject =
      `/UID=${o.bundleId}/CN=Apple Push Services: ${o.bundleId}/OU=TEAM123456/O=edgepush tests/C=US`;
    await openssl(dir, ["req", "-new", "-key", `${n}.key`, "-subj", subject, "-out", `${n}.csr`]);
    await Deno.writeTextFile(`${dir}/${n}.ext`, apnsExtensions(o));
    await openssl(dir, [
      "ca",
      "-batch",
      "-config",
      "ca.cnf",
      "-notext",
      "-startdate",
      asnTime(o.startDays ?? -1),
      "-enddate",
      asnTime(o.endDays ?? 365),
      "-extfile",
      `${n}.ext`,
      "-extensions",
      "apns",
      "-in",
      `${n}.csr`,
      "-out",
      `${n}.pem`,
    ]);
    const pair = {
      certPem: await Deno.readTextFile(`${dir}/${n}.pem`),
      keyPem: await Deno.readTextFile(`${dir}/${n}.key`),
    };
    return {
      ...pair,
      async p12(password, options = {}) {
        const out = `${n}-${crypto.randomUUID()}.p12`;
        await openssl(dir, [
          "pkcs12",
          "-export",
          ...(options.legacy ? ["-legacy"] : []),
          ...(options.withoutKey ? ["-nokeys"] : ["-inkey", `${n}.key`]),
          "-in",
          `${n}.pem`,
          "-name",
          "Apple Push Services",
          "-passout",
          `pass:${password}`,
          "-out",
          out,
        ]);
        return btoa(String.fromCharCode(...await Deno.readFile(`${dir}/${out}`)));
      },
      async encryptedKeyPem(password) {
        const out = `${n}-${crypto.randomUUID()}.enc.pem`;
        await openssl(dir, [
          "pkcs8",
          "-topk8",
          "-in",
          `${n}.key`,
          "-passout",
          `pass:${password}`,
          "-out",
          out,
        ]);
        return await Deno.readTextFile(`${dir}/${out}`);
      },
    };
  }
  return {
    caPem: await Deno.readTextFile(`${dir}/ca.pem`),
    caKeyPem: await Deno.readTextFile(`${dir}/ca.key`),
    server,
    issueApns,
    issueClient: (cn, options = {}) =>
      issue(cn, "extendedKeyUsage=clientAuth\n", options.days ?? 2),
    cleanup: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}

// `openssl ca` takes explicit validity dates, so certificates can be expired or not yet valid.
const CA_CONFIG = `[ca]
default_ca = test
[test]
dir = .
database = index.txt
new_certs_dir = .
certificate = ca.pem
private_key = ca.key
rand_serial = yes
default_md = sha256
policy = any
unique_subject = no
preserve = yes
[any]
UID = optional
commonName = optional
organizationalUnitName = optional
organizationName = optional
countryName = optional
`;

function asnTime(days: number): string {
  // YYYYMMDDHHMMSSZ (GeneralizedTime), accepted by `openssl ca -startdate/-enddate`.
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/[-:T]/g, "")
    .slice(0, 14) + "Z";
}

const ENV_OIDS = {
  development: "1.2.840.113635.100.6.3.1",
  production: "1.2.840.113635.100.6.3.2",
};

function apnsExtensions(o: ApnsCertOptions): string {
  const lines = ["[apns]", "extendedKeyUsage=clientAuth", "keyUsage=digitalSignature"];
  for (const env of o.environments ?? ["development", "production"]) {
    lines.push(`${ENV_OIDS[env]}=ASN1:NULL`);
  }
  const topics = o.topics ?? [];
  if (topics.length) {
    lines.push("1.2.840.113635.100.6.3.6=ASN1:SEQUENCE:topics", "[topics]");
    // As Apple writes it: each topic followed by a SEQUENCE naming its kind.
    topics.forEach((topic, i) => lines.push(`t${i}=UTF8:${topic}`, `k${i}=SEQUENCE:kind${i}`));
    topics.forEach((topic, i) => {
      const kind = topic === o.bundleId ? "app" : topic.slice(o.bundleId.length + 1) || "app";
      lines.push(`[kind${i}]`, `k=UTF8:${kind}`);
    });
  }
  return lines.join("\n") + "\n";
}
