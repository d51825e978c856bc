/**
 * Redis work per registration in instructions, not microseconds: redis-server runs under
 * valgrind's callgrind, and the counters are zeroed before and dumped after N calls of the
 * registry (`callgrind_control`). An instruction count repeats to within ~0.1% whatever else the
 * machine does, where `usec_per_call` moves ±20% on a shared machine, so a change to the
 * registry's Lua can be judged in one run. A bare `SET` through the same client is the scale.
 *
 * Needs `valgrind` (with `callgrind_control`) and `redis-server` on PATH; without valgrind,
 * {@linkcode measureRegistrationInstructions} returns null.
 *
 * `deno run -A tests/bench/registration_instructions.ts [calls]`
 *
 * @module
 */
import { createRedis, freePort } from "../../lib/redis/mod.ts";
import { rawRedisReply } from "../../lib/redis/server_process.ts";
import { waitFor } from "../support/redis_server.ts";
import { createRegistry } from "../../lib/registry/mod.ts";

/** One row: a kind of call and the Redis instructions it cost. */
export interface InstructionRow {
  call: string;
  calls: number;
  /** Instructions redis-server ran per call (user space: parsing, the command, the reply). */
  instructionsPerCall: number;
  /** Against the bare `SET` row. */
  vsBareSet: number;
}

async function has(command: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

async function control(pid: number, flag: "-z" | "-d"): Promise<void> {
  const out = await new Deno.Command("callgrind_control", {
    args: [flag, String(pid)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`callgrind_control ${flag} failed`);
}

/**
 * Instructions per call of the registration script (a new installation, and a refresh of an
 * existing one with its own token), limiter on, and of a bare `SET`. Null without valgrind.
 */
export async function measureRegistrationInstructions(
  calls = 2_000,
): Promise<InstructionRow[] | null> {
  if (!(await has("valgrind")) || !(await has("callgrind_control"))) return null;
  const dir = await Deno.makeTempDir({ prefix: "edgepush-callgrind-" });
  const port = freePort();
  const server = new Deno.Command("valgrind", {
    args: [
      "--tool=callgrind",
      `--callgrind-out-file=${dir}/callgrind.out`,
      "redis-server",
      ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      ...["--dir", dir],
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const { redis, close } = createRedis({ kind: "tcp", url: `redis://127.0.0.1:${port}` });
  let dumps = 0;
  /** Instructions run by `work`, from the counters zeroed before it to a dump after it. */
  const instructionsOf = async (work: () => Promise<void>): Promise<number> => {
    await control(server.pid, "-z");
    await work();
    await control(server.pid, "-d");
    const text = await Deno.readTextFile(`${dir}/callgrind.out.${++dumps}`);
    const total = /^(?:summary|totals): (\d+)/m.exec(text);
    if (!total) throw new Error("no totals in the callgrind dump");
    return Number(total[1]);
  };
  try {
    // Valgrind slows the server's start several-fold.
    await waitFor(() => rawRedisReply(port, "PING\r\n"), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: "redis-server under valgrind",
    });
    const rule = { limit: 999_999_999, windowSeconds: 60 };
    const registry = createRegistry({ redis, rateLimits: { address: rule, installation: rule } });
    const appId = "app_instructions";
    const token = (salt: string, i: number) => salt + i.toString(16).padStart(63, "0");
    const register = (i: number, salt: string) =>
      registry.register(appId, {
        token: token(salt, i),
        environment: "production",
        attributes: { appVersion: "1.0.0" },
        client: "127.0.0.1",
      });
    // Warm-up: the function library loads, the app's keys exist.
    for (let i = 0; i < 100; i++) await register(i, "a");
    const held = await register(0, "r");
    if (!held.created) throw new Error("expected a new installation");
    const inFlight = 4;
    const run = async (call: (i: number) => Promise<unknown>) => {
      let next = 0;
      await Promise.all(Array.from({ length: inFlight }, async () => {
        while (next < calls) await call(next++);
      }));
    };
    const bare = await instructionsOf(() =>
      run((i) => redis.set(`bare:${i}`, "in_0123456789abcdef"))
    );
    const created = await instructionsOf(() => run((i) => register(i, "b")));
    const refreshed = await instructionsOf(() =>
      run(() =>
        registry.register(appId, {
          installationId: held.installationId,
          secret: held.installationSecret,
          token: token("r", 0),
          environment: "production",
          attributes: { appVersion: "1.0.0" },
          client: "127.0.0.1",
        })
      )
    );
    const row = (call: string, total: number): InstructionRow => ({
      call,
      calls,
      instructionsPerCall: Math.round(total / calls),
      vsBareSet: +(total / bare).toFixed(1),
    });
    return [
      row("register: a new installation (limiter on)", created),
      row("register: a refresh, same token (limiter on)", refreshed),
      row("bare SET", bare),
    ];
  } finally {
    await close();
    try {
      server.kill("SIGTERM");
    } catch { /* gone */ }
    await server.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const rows = await measureRegistrationInstructions(Number(Deno.args[0] ?? 2_000));
  if (rows) console.table(rows);
  else console.log("valgrind not found: instruction counts skipped (apt-get install valgrind)");
}
