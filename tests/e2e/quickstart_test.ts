/**
 * Runs README.md's Quickstart exactly as written: the fenced ```sh blocks between
 * `<!-- quickstart:start -->` and `<!-- quickstart:end -->`, with bash, from the repository
 * root. Blocks that open with `# terminal N (keeps running)` are started in the background (the
 * mock APNs, then edgepush); the others run in order in one bash session, as a reader would in a
 * third terminal. Free ports and a temporary DATA_DIR go in through the variables the README
 * commands honour (`PORT`, `MOCK_APNS_PORT`, `DATA_DIR`). The last step must show the push in
 * the mock's log.
 *
 * @module
 */
import { assertEquals, assertOk, assertStringIncludes } from "../support/assert.ts";
import { waitFor } from "../support/redis_server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The quickstart's sh blocks, in order. */
export function quickstartBlocks(readme: string): string[] {
  const start = readme.indexOf("<!-- quickstart:start -->");
  const end = readme.indexOf("<!-- quickstart:end -->");
  if (start < 0 || end < start) throw new Error("README.md has no quickstart markers");
  const section = readme.slice(start, end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function canConnect(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A background block, in its own process group so that every child can be stopped. */
interface Background {
  child: Deno.ChildProcess;
  output: Promise<string>;
}

function startBackground(script: string, env: Record<string, string>): Background {
  // `setsid` gives the block its own process group: `deno task` starts deno, which starts
  // redis-server; stopping the group stops them all.
  const child = new Deno.Command("setsid", {
    args: ["bash", "-c", script],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    let text = "";
    for await (const chunk of stream) text += decoder.decode(chunk);
    return text;
  };
  const output = Promise.all([collect(child.stdout), collect(child.stderr)]).then(([o, e]) =>
    o + e
  );
  return { child, output };
}

async function stopBackground(bg: Background): Promise<string> {
  const signal = (name: Deno.Signal) => {
    try {
      Deno.kill(-bg.child.pid, name); // the whole process group
    } catch { /* already gone */ }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 10_000);
  await bg.child.status;
  const output = await bg.output;
  clearTimeout(timer);
  return output;
}

const hasTools = ["bash", "setsid", "openssl", "curl", "redis-server"].every((tool) =>
  new Deno.Command("bash", { args: ["-c", `command -v ${tool}`], stdout: "null" }).outputSync()
    .success
);
if (!hasTools) {
  console.warn("SKIPPED quickstart test: needs bash, setsid, openssl, curl, redis-server");
}

Deno.test({
  name: "README quickstart runs from nothing to a push on the mock APNs",
  ignore: !hasTools,
  async fn() {
    assertOk(
      await exists(`${ROOT}tests/support/mock_apns_cli.ts`),
      "`deno task mock-apns` needs tests/support/mock_apns_cli.ts",
    );
    const readme = await Deno.readTextFile(`${ROOT}README.md`);
    const blocks = quickstartBlocks(readme);
    const background = blocks.filter((b) => /^# terminal \d+ \(keeps running\)/.test(b));
    const steps = blocks.filter((b) => !background.includes(b));
    assertEquals(background.length, 2, "step 1 starts the mock APNs and edgepush");
    assertOk(steps.length >= 4, "steps 2–5 follow");

    const dataDir = await Deno.makeTempDir({ prefix: "edgepush-quickstart-" });
    const env = {
      ...Deno.env.toObject(),
      DATA_DIR: dataDir,
      PORT: String(freePort()),
      MOCK_APNS_PORT: String(freePort()),
      MOCK_APNS_DEV_PORT: String(freePort()),
      LOG_LEVEL: "warn",
    };
    const running: Background[] = [];
    let logs = "";
    try {
      // Terminal 1: the mock. Terminal 2 needs its CA file and port, as a reader would wait.
      running.push(startBackground(background[0], env));
      await waitFor(
        async () =>
          await exists(`${dataDir}/mock-apns-ca.pem`) &&
          await canConnect(Number(env.MOCK_APNS_PORT)),
        { timeoutMs: 60_000, intervalMs: 100, what: "the mock APNs to listen" },
      );
      running.push(startBackground(background[1], env));
      await waitFor(async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${env.PORT}/healthz`);
          await res.body?.cancel();
          return res.ok;
        } catch {
          return false;
        }
      }, { timeoutMs: 60_000, intervalMs: 100, what: "edgepush to listen" });

      // Terminal 3: steps 2–5 in one bash session, stopping at the first failing command.
      const run = await new Deno.Command("bash", {
        args: ["-c", `set -euo pipefail\n${steps.join("\n")}`],
        cwd: ROOT,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(run.stdout);
      const stderr = new TextDecoder().decode(run.stderr);
      assertEquals(run.code, 0, `quickstart steps failed:\n${stdout}\n${stderr}`);
      // Step 4 answered with APNs' acceptance; only step 5 (the mock's log) shows the title.
      assertStringIncludes(stdout, '"status":"accepted"');
      // Steps 6–8: the push CLI read the test .p12 and the mock took it; the certificate-only
      // app's send was accepted too.
      assertStringIncludes(stdout, "certificate: Apple Push Services: com.example.quickstart");
      assertStringIncludes(stdout, "environments: development, production");
      assertStringIncludes(stdout, '"apns":null');
      assertEquals(stdout.split('"status":"accepted"').length - 1, 2, stdout);
      const logStep = steps.find((s) => s.includes('grep "Hello from edgepush"'))!;
      const step5 = new TextDecoder().decode(
        (await new Deno.Command("bash", {
          args: [
            "-c",
            `set -euo pipefail\n${logStep}\ngrep "Hello with a certificate" "$DATA_DIR/mock-apns.log"`,
          ],
          cwd: ROOT,
          env,
          stdout: "piped",
        }).output()).stdout,
      );
      assertStringIncludes(step5, "Hello from edgepush");
      // Step 4 went out with the .p8 key; step 8, after the key was taken away, with the
      // certificate (mTLS), as a foreign APNs would see it.
      const pushes = step5.trim().split("\n").map((line) => JSON.parse(line));
      assertEquals(pushes.map((p) => p.auth.kind), ["token", "certificate"], step5);
      assertStringIncludes(pushes[1].auth.subject, "com.example.quickstart");
      // The development installation reached the mock's development host.
      assertStringIncludes(step5, '"environment":"development"');
    } finally {
      for (const bg of running.reverse()) logs += await stopBackground(bg);
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      if (logs && Deno.env.get("QUICKSTART_VERBOSE")) console.log(logs);
    }
  },
});
