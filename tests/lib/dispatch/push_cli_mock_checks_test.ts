/**
 * `deno task mock-apns` makes the checks APNs makes, so the push CLI's explanations can be seen
 * against it: a topic outside the key's apps, a token of the other environment, a token of
 * another app, an uninstalled app's token, a malformed token.
 */
import { runPushCli } from "../../../lib/dispatch/push_cli.ts";
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { generateApnsKey } from "../../support/mock_apns_keys.ts";

const CLI = new URL("../../support/mock_apns_cli.ts", import.meta.url).pathname;
const DEV_TOKEN = "d".repeat(64);
const OTHER_APP_TOKEN = "e".repeat(64);
const GONE_TOKEN = "f".repeat(64);

Deno.test("mock-apns flags make APNs' checks and the push CLI explains each answer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgepush-mock-checks-" });
  const key = await generateApnsKey();
  await Deno.writeTextFile(`${dir}/AuthKey.p8`, key.privateKeyPem);
  const mock = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      "--port",
      "0",
      "--ca-out",
      `${dir}/ca.pem`,
      "--quiet",
      "--key",
      `MOCKKEY001:MOCKTEAM01:${dir}/AuthKey.p8`,
      "--topics",
      "MOCKTEAM01=com.example.mine,com.example.also",
      "--token-env",
      `${DEV_TOKEN}=development`,
      "--token-topic",
      `${OTHER_APP_TOKEN}=com.example.also`,
      "--unregistered",
      GONE_TOKEN,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = mock.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let first = "";
    while (!first.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the mock exited before listening");
      first += value;
    }
    reader.releaseLock();
    const hosts = JSON.parse(first.split("\n")[0]) as { production: string; development: string };
    const push = async (token: string, env: "production" | "development", topic: string) => {
      const out: string[] = [];
      const code = await runPushCli([
        ...["--key", `${dir}/AuthKey.p8`, "--key-id", "MOCKKEY001", "--team-id", "MOCKTEAM01"],
        ...["--topic", topic, "--token", token, "--env", env],
        ...["--host", hosts[env], "--ca", `${dir}/ca.pem`],
      ], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
      return { code, text: out.join("\n") };
    };
    const accepted = await push(DEV_TOKEN, "development", "com.example.mine");
    assertEquals(accepted.code, 0, accepted.text);

    const wrongEnv = await push(DEV_TOKEN, "production", "com.example.mine");
    assertEquals(wrongEnv.code, 1);
    assertStringIncludes(wrongEnv.text, "rejected: 400 BadDeviceToken");
    assertStringIncludes(wrongEnv.text, "needs --env development");

    const notMine = await push(DEV_TOKEN, "development", "com.example.theirs");
    assertStringIncludes(notMine.text, "rejected: 400 TopicDisallowed");
    assertStringIncludes(notMine.text, "a bundle id of the key's team");

    const otherApp = await push(OTHER_APP_TOKEN, "production", "com.example.mine");
    assertStringIncludes(otherApp.text, "rejected: 400 DeviceTokenNotForTopic");
    assertStringIncludes(otherApp.text, "the token belongs to another app");

    const gone = await push(GONE_TOKEN, "production", "com.example.mine");
    assertStringIncludes(gone.text, "rejected: 410 Unregistered");

    const malformed = await push("abc123", "production", "com.example.mine");
    assertStringIncludes(malformed.text, "rejected: 400 BadDeviceToken");
  } finally {
    mock.kill("SIGTERM");
    await mock.stdout.cancel().catch(() => {});
    await mock.status;
    await Deno.remove(dir, { recursive: true });
  }
});
