import { readCertificateUpload } from "../../../lib/apps/certificate_upload.ts";
import { parseCertificate } from "../../../lib/apns/certificate.ts";
import { ValidationFailed } from "../../../lib/errors.ts";
import { assertEquals, assertOk, assertStringIncludes } from "../../support/assert.ts";
import { createTestCa } from "../../support/test_ca.ts";

const bundleId = "com.example.app";

async function refusal(
  upload: Parameters<typeof readCertificateUpload>[0],
  id = bundleId,
): Promise<ValidationFailed> {
  try {
    await readCertificateUpload(upload, { bundleId: id });
  } catch (error) {
    if (error instanceof ValidationFailed) return error;
    throw error;
  }
  throw new Error("the upload was accepted");
}

Deno.test("readCertificateUpload reads .p12 files (current and legacy encryption, empty password) and PEM", async () => {
  const ca = await createTestCa();
  try {
    const cert = await ca.issueApns({ bundleId, topics: [bundleId, `${bundleId}.voip`] });
    const fingerprint = (await parseCertificate(cert.certPem)).summary.fingerprint;
    const uploads = [
      { p12: await cert.p12("s3cret"), password: "s3cret" },
      { p12: await cert.p12("s3cret", { legacy: true }), password: "s3cret" },
      { p12: await cert.p12("") },
      { certificate: cert.certPem, privateKey: cert.keyPem },
      { certificate: cert.certPem, privateKey: await cert.encryptedKeyPem("pw"), password: "pw" },
    ];
    for (const upload of uploads) {
      const read = await readCertificateUpload(upload, { bundleId });
      assertEquals(read.summary.fingerprint, fingerprint);
      assertEquals(read.summary.topics, [bundleId, `${bundleId}.voip`]);
      assertStringIncludes(read.privateKeyPem, "-----BEGIN PRIVATE KEY-----");
      assertOk(!read.privateKeyPem.includes("ENCRYPTED"), "the key is stored decrypted (sealed)");
      assertEquals((await parseCertificate(read.certificatePem)).summary.fingerprint, fingerprint);
    }
    const ec = await ca.issueApns({ bundleId, keyType: "ec" });
    const read = await readCertificateUpload({ p12: await ec.p12("x"), password: "x" }, {
      bundleId,
    });
    assertEquals(read.summary.environments, ["development", "production"]);
  } finally {
    await ca.cleanup();
  }
});

Deno.test("readCertificateUpload refuses what cannot send, saying what to do", async () => {
  const ca = await createTestCa();
  try {
    const good = await ca.issueApns({ bundleId });
    const other = await ca.issueApns({ bundleId });
    const cases: Array<[Parameters<typeof readCertificateUpload>[0], string, string?]> = [
      [{ p12: await good.p12("right"), password: "wrong" }, "password is wrong"],
      [{ p12: await good.p12("right") }, "needs its password"],
      [{ p12: btoa("this is not a p12 file at all") }, "not a PKCS#12"],
      [{ p12: "%%% not base64 %%%" }, "base64"],
      [{ p12: await good.p12("pw", { withoutKey: true }), password: "pw" }, "no private key"],
      [{ certificate: good.keyPem, privateKey: good.keyPem }, "not a certificate"],
      [{
        certificate: good.certPem,
        privateKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
      }, "not a PEM private key"],
      [{ certificate: good.certPem, privateKey: await good.encryptedKeyPem("pw") }, "encrypted"],
      [
        { certificate: good.certPem, privateKey: await good.encryptedKeyPem("pw"), password: "no" },
        "does not decrypt",
      ],
      [{ certificate: good.certPem, privateKey: other.keyPem }, "does not belong"],
      [
        { p12: await (await ca.issueApns({ bundleId, startDays: -30, endDays: -1 })).p12("") },
        "expired on",
      ],
      [{ p12: await (await ca.issueApns({ bundleId, startDays: 2 })).p12("") }, "not valid until"],
      [
        { p12: await (await ca.issueApns({ bundleId, environments: [] })).p12("") },
        "not an Apple Push Notification service certificate",
      ],
      [
        { p12: await good.p12("") },
        "com.example.app, not for this app's bundle id com.other.app",
        "com.other.app",
      ],
    ];
    for (const [upload, needle, id] of cases) {
      const error = await refusal(upload, id);
      assertStringIncludes(error.message, needle);
      assertOk(error.details.length > 0, "details name the field");
    }
  } finally {
    await ca.cleanup();
  }
});
