import { runPushCli } from "../../../lib/dispatch/push_cli.ts";
import { assertEquals, assertOk, assertStringIncludes } from "../../support/assert.ts";
import { startMockApns } from "../../support/mock_apns.ts";
import { createTestCa } from "../../support/test_ca.ts";

const TOKEN = "e".repeat(64);
const BUNDLE = "com.example.knuff";

async function setup() {
  const mock = await startMockApns();
  const dir = await Deno.makeTempDir({ prefix: "edgepush-push-cli-cert-" });
  await Deno.writeTextFile(`${dir}/ca.pem`, mock.caPem);
  const out: string[] = [];
  const io = { stdout: (l: string) => out.push(l), stderr: (l: string) => out.push(l) };
  const run = async (extra: string[], env: "development" | "production" = "development") => {
    out.length = 0;
    return await runPushCli([
      "--topic",
      BUNDLE,
      "--token",
      TOKEN,
      "--env",
      env,
      "--host",
      mock.hosts[env],
      "--ca",
      `${dir}/ca.pem`,
      ...extra,
    ], io);
  };
  /** Writes a .p12 (binary, as Keychain Access exports it) and returns its path. */
  const writeP12 = async (base64: string, name = "cert.p12") => {
    await Deno.writeFile(`${dir}/${name}`, Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    return `${dir}/${name}`;
  };
  return {
    mock,
    dir,
    out,
    run,
    writeP12,
    text: () => out.join("\n"),
    async [Symbol.asyncDispose]() {
      await mock.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("push CLI: a .p12 with its password prints what the certificate allows, then sends", async () => {
  await using t = await setup();
  const cert = await t.mock.ca.issueApns({ bundleId: BUNDLE, topics: [BUNDLE, `${BUNDLE}.voip`] });
  const p12 = await t.writeP12(await cert.p12("hunter2", { legacy: true }));
  assertEquals(await t.run(["--cert", p12, "--password", "hunter2"]), 0, t.text());
  assertStringIncludes(t.text(), `certificate: Apple Push Services: ${BUNDLE}`);
  assertStringIncludes(t.text(), "environments: development, production");
  assertStringIncludes(t.text(), `topics:       ${BUNDLE}, ${BUNDLE}.voip`);
  assertOk(/valid: .* \(364 days left\)/.test(t.text()), t.text());
  assertStringIncludes(t.text(), "accepted: 200");
  assertEquals(t.mock.accepted[0].auth.kind, "certificate");

  assertEquals(t.text().includes("! it expires"), false);
  const soon = await t.mock.ca.issueApns({ bundleId: BUNDLE, endDays: 12 });
  assertEquals(await t.run(["--cert", await t.writeP12(await soon.p12(""), "soon.p12")]), 0);
  assertStringIncludes(t.text(), "! it expires in 11 days");

  assertEquals(await t.run(["--cert", p12, "--password", "nope"]), 2);
  assertStringIncludes(t.text(), "password is wrong");
  const encrypted = `${t.dir}/key.enc.pem`;
  await Deno.writeTextFile(`${t.dir}/cert.pem`, cert.certPem);
  await Deno.writeTextFile(encrypted, await cert.encryptedKeyPem("pw"));
  assertEquals(
    await t.run(["--cert", `${t.dir}/cert.pem`, "--cert-key", encrypted, "--password", "pw"]),
    0,
    t.text(),
  );
  assertEquals(await t.run(["--cert", `${t.dir}/cert.pem`]), 2);
  assertStringIncludes(t.text(), "needs --cert-key");
});

Deno.test("push CLI explains environment and topic mismatches in plain words", async () => {
  await using t = await setup();
  const dev = await t.mock.ca.issueApns({ bundleId: BUNDLE, environments: ["development"] });
  const p12 = await t.writeP12(await dev.p12(""));
  assertEquals(await t.run(["--cert", p12], "production"), 1);
  assertStringIncludes(t.text(), "! it does not cover production");
  assertStringIncludes(t.text(), "rejected: 403 BadCertificateEnvironment");
  assertStringIncludes(t.text(), "does not cover this environment: switch --env");
  assertStringIncludes(t.text(), "this certificate covers development");

  assertEquals(await t.run(["--cert", p12, "--push-type", "voip"]), 1);
  assertStringIncludes(t.text(), `! it does not list the topic ${BUNDLE}.voip`);
  assertStringIncludes(t.text(), "rejected: 400 TopicDisallowed");
  assertStringIncludes(t.text(), `this certificate's topics: ${BUNDLE}`);
});

Deno.test("push CLI explains a certificate APNs does not trust", async () => {
  await using t = await setup();
  const rogue = await createTestCa();
  try {
    const stranger = await rogue.issueApns({ bundleId: BUNDLE });
    assertEquals(await t.run(["--cert", await t.writeP12(await stranger.p12(""))]), 1);
    assertStringIncludes(t.text(), "rejected: 403 BadCertificate");
    assertStringIncludes(t.text(), "APNs rejected the client certificate");
    const plain = await rogue.issueClient("not apns");
    await Deno.writeTextFile(`${t.dir}/plain.pem`, plain.certPem);
    await Deno.writeTextFile(`${t.dir}/plain.key`, plain.keyPem);
    await t.run(["--cert", `${t.dir}/plain.pem`, "--cert-key", `${t.dir}/plain.key`]);
    assertStringIncludes(t.text(), "environments: none (not an APNs certificate)");
  } finally {
    await rogue.cleanup();
  }
});
