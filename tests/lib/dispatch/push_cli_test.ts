import { runPushCli } from "../../../lib/dispatch/push_cli.ts";
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { startMockApns } from "../../support/mock_apns.ts";
import { generateApnsKey } from "../../support/mock_apns_keys.ts";

const TOKEN = "b".repeat(64);

async function setup() {
  const mock = await startMockApns();
  const dir = await Deno.makeTempDir({ prefix: "edgepush-push-cli-" });
  const key = await generateApnsKey();
  await mock.addKey("CLIKEY0001", "CLITEAM001", key.publicKey);
  await Deno.writeTextFile(`${dir}/AuthKey.p8`, key.privateKeyPem);
  await Deno.writeTextFile(`${dir}/ca.pem`, mock.caPem);
  const out: string[] = [];
  const io = { stdout: (l: string) => out.push(l), stderr: (l: string) => out.push(l) };
  const run = (extra: string[], env = "development") =>
    runPushCli([
      "--topic",
      "com.example.cli",
      "--token",
      TOKEN,
      "--env",
      env,
      "--host",
      env === "development" ? mock.hosts.development : mock.hosts.production,
      "--ca",
      `${dir}/ca.pem`,
      ...extra,
    ], io);
  const tokenAuth = [
    "--key",
    `${dir}/AuthKey.p8`,
    "--key-id",
    "CLIKEY0001",
    "--team-id",
    "CLITEAM001",
  ];
  return {
    mock,
    dir,
    out,
    run,
    tokenAuth,
    async [Symbol.asyncDispose]() {
      await mock.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("runPushCli sends one notification with token auth and exits 0", async () => {
  await using t = await setup();
  const code = await t.run([...t.tokenAuth, "--title", "Hello", "--url", "https://example.com/x"]);
  assertEquals(code, 0);
  assertStringIncludes(t.out.join("\n"), "accepted: 200");
  assertEquals(t.mock.accepted.length, 1);
  assertEquals(
    (t.mock.accepted[0].payload as { aps: { alert: { title: string } } }).aps.alert.title,
    "Hello",
  );
});

Deno.test("runPushCli explains BadDeviceToken as an environment mismatch and exits 1", async () => {
  await using t = await setup();
  t.mock.device(TOKEN, { environment: "development" });
  const code = await t.run(t.tokenAuth, "production");
  assertEquals(code, 1);
  assertStringIncludes(t.out.join("\n"), "BadDeviceToken");
  assertStringIncludes(t.out.join("\n"), "--env development");
});

Deno.test("runPushCli explains InvalidProviderToken as a key problem", async () => {
  await using t = await setup();
  t.mock.removeKey("CLIKEY0001");
  assertEquals(await t.run(t.tokenAuth), 1);
  assertStringIncludes(t.out.join("\n"), "check --key-id");
});

Deno.test("runPushCli sends with a client certificate", async () => {
  await using t = await setup();
  const client = await t.mock.ca.issueApns({ bundleId: "com.example.cli", keyType: "ec" });
  await Deno.writeTextFile(`${t.dir}/cert.pem`, client.certPem);
  await Deno.writeTextFile(`${t.dir}/key.pem`, client.keyPem);
  const code = await t.run(["--cert", `${t.dir}/cert.pem`, "--cert-key", `${t.dir}/key.pem`]);
  assertEquals(code, 0, t.out.join("\n"));
  assertEquals(t.mock.accepted[0].auth.kind, "certificate");
});

Deno.test("runPushCli rejects missing arguments with usage and exit 2", async () => {
  const out: string[] = [];
  const code = await runPushCli(["--token", "zz"], {
    stdout: (l) => out.push(l),
    stderr: (l) => out.push(l),
  });
  assertEquals(code, 2);
  assertStringIncludes(out.join("\n"), "--topic is required");
});

Deno.test("runPushCli takes host and CA from APNS_* defaults (an https:// URL too) and sends a bare background push", async () => {
  await using t = await setup();
  const code = await runPushCli(
    [
      ...t.tokenAuth,
      "--topic",
      "com.example.cli",
      "--token",
      TOKEN,
      "--env",
      "production",
      "--push-type",
      "background",
    ],
    { stdout: (l) => t.out.push(l), stderr: (l) => t.out.push(l) },
    {
      hosts: { production: `https://${t.mock.hosts.production}/` },
      caFile: `${t.dir}/ca.pem`,
    },
  );
  assertEquals(code, 0, t.out.join("\n"));
  assertEquals(t.mock.accepted[0].environment, "production");
  assertEquals(t.mock.accepted[0].payload, { aps: { "content-available": 1 } });
  assertEquals(t.mock.accepted[0].headers["apns-priority"], "5");
});

Deno.test("runPushCli names a missing key or CA file in one line and exits 2", async () => {
  await using s = await setup();
  const missingKey = ["--key", `${s.dir}/AuthKey_NOPE.p8`, ...s.tokenAuth.slice(2)];
  assertEquals(await s.run(missingKey), 2);
  assertEquals(s.out, [
    `error: --key ${s.dir}/AuthKey_NOPE.p8: no such file. Give the path of the .p8 file Apple ` +
    "issued (App Store Connect → Users and Access → Keys).",
  ]);
  s.out.length = 0;
  assertEquals(await s.run([...s.tokenAuth, "--ca", `${s.dir}/nope.pem`]), 2);
  assertEquals(s.out.length, 1);
  assertStringIncludes(s.out[0], `--ca ${s.dir}/nope.pem: no such file.`);
  assertEquals(s.mock.stats.requests, 0);
});
