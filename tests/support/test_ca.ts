/**
 * A throwaway certificate authority per test run, made with the openssl CLI: a CA, a server
 * certificate for localhost/127.0.0.1 (the mock APNs), and client certificates for
 * certificate-auth tests. Nothing touches the system trust store; clients get `caPem`.
 *
 * @module
 */

/** A PEM certificate and its PKCS#8 private key. */
export interface CertPair {
  certPem: string;
  keyPem: string;
}

/** A generated CA with a server certificate signed by it. */
export interface TestCa {
  /** The CA certificate, to trust in clients. */
  caPem: string;
  /** Server certificate for `localhost` and `127.0.0.1`. */
  server: CertPair;
  /** Issues a client certificate (CN = `commonName`) valid for `days` (default 2; negative = expired). */
  issueClient(commonName: string, options?: { days?: number }): Promise<CertPair>;
  /** Removes the working directory. */
  cleanup(): Promise<void>;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
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
  return {
    caPem: await Deno.readTextFile(`${dir}/ca.pem`),
    server,
    issueClient: (cn, options = {}) =>
      issue(cn, "extendedKeyUsage=clientAuth\n", options.days ?? 2),
    cleanup: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}
