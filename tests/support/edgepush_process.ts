/**
 * Runs `main.ts` as a child process against a test Redis, for tests that must measure the
 * server's own process (its memory) rather than the test runner's.
 *
 * @module
 */
import { generateMasterKey } from "../../lib/crypto/sealed_box.ts";
import { freePort } from "../../lib/redis/mod.ts";
import { ADMIN_TOKEN } from "./harness.ts";
import { waitFor } from "./redis_server.ts";

/** A running edgepush child process. */
export interface EdgepushProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  pid: number;
  adminToken: string;
  /** Resident memory now and at its peak (VmRSS, VmHWM from /proc), in bytes. */
  memory(): Promise<{ rss: number; peak: number }>;
  /** SIGTERM, then waits for the exit. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `deno run -A [denoFlags] main.ts` with `REDIS_URL`, fixed secrets and `env`; waits for
 * /readyz.
 */
export async function startEdgepush(
  redisUrl: string,
  env: Record<string, string> = {},
  denoFlags: string[] = [],
): Promise<EdgepushProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...denoFlags, new URL("../../main.ts", import.meta.url).pathname],
    env: {
      PORT: String(port),
      REDIS_URL: redisUrl,
      ADMIN_TOKEN,
      MASTER_KEY: generateMasterKey(),
      WORKERS: "0",
      LOG_LEVEL: "warn",
      ...env,
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
  };
  try {
    await waitFor(async () => {
      const res = await fetch(`${url}/readyz`).catch(() => null);
      await res?.body?.cancel();
      return res?.status === 200;
    }, { timeoutMs: 30_000, intervalMs: 50, what: "edgepush /readyz" });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    pid: child.pid,
    adminToken: ADMIN_TOKEN,
    async memory() {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const kb = (field: string) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))![1]);
      return { rss: kb("VmRSS") * 1024, peak: kb("VmHWM") * 1024 };
    },
    stop,
  };
}
