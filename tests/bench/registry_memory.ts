/**
 * Redis memory per installation and per user-in-segment membership, for the registry's layout
 * before v2 (the frozen v1 scripts in tests/support/registry_v1, member uploads included) and
 * the current one, in one run on fresh private redis-servers: `used_memory` before and after
 * writing N installations (80% bound to users, ~1.25 installations per user, the six standard
 * attributes plus two custom ones, 10% development, tokens spread as APNs' are), then 20
 * segments whose members are the bound users (each user in about a third of them). Then, per
 * key family, MEMORY USAGE summed over its keys, per installation.
 *
 * `deno run -A tests/bench/registry_memory.ts [--installations 1000000] [--segments 20]`
 *
 * @module
 */
import IORedis from "ioredis";
import { parseArgs } from "node:util";
import { createRedis, startRedisServer } from "../../lib/redis/mod.ts";
import { createRegistry } from "../../lib/registry/mod.ts";
import { createSegments } from "../../lib/segments/mod.ts";
import { createV1Writer } from "../support/registry_v1/mod.ts";
import { sha256HexSync } from "../../lib/auth/secrets.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    installations: { type: "string", default: "1000000" },
    segments: { type: "string", default: "20" },
  },
});
const N = Number(values.installations);
const SEGMENTS = Number(values.segments);
const LANES = 64;
const MODELS = ["iPhone15,2", "iPhone14,5", "iPhone16,1", "iPhone13,4"];
const ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/Paris"];

/** Installation `i`: its token, environment, user (80% bound) and attributes. */
function installation(i: number) {
  return {
    token: sha256HexSync(`token-${i}`),
    environment: i % 10 === 0 ? "development" as const : "production" as const,
    userId: i % 5 === 4 ? undefined : `user-${Math.floor(i * 0.64)}`,
    attributes: {
      appVersion: `3.${i % 20}.1`,
      osVersion: `17.${i % 6}.1`,
      locale: i % 3 ? "en_US" : "de_DE",
      timezone: ZONES[i % 4],
      deviceModel: MODELS[i % 4],
      sdkVersion: "1.4.0",
      plan: i % 7 ? "free" : "pro",
      onboarded: i % 2 === 0,
    },
  };
}

async function usedMemory(io: IORedis.default): Promise<number> {
  await io.call("MEMORY", "PURGE").catch(() => {});
  return Number(/used_memory:(\d+)/.exec(String(await io.info("memory")))![1]);
}

/** MEMORY USAGE summed per key family (`inst`, `tk`, `seg`…), bytes per installation. */
async function families(io: IORedis.default, n: number): Promise<Record<string, number>> {
  const sums = new Map<string, number>();
  let cursor = "0";
  do {
    const [next, keys] = await io.scan(cursor, "COUNT", 1000) as [string, string[]];
    cursor = next;
    const pipe = io.pipeline();
    for (const key of keys) pipe.call("MEMORY", "USAGE", key, "SAMPLES", "0");
    const sizes = await pipe.exec();
    keys.forEach((key, i) => {
      const family = key.replace(/^ep:v1:\{[^}]+\}:/, "").replace(/^([a-z_]+)[:].*$/, "$1");
      sums.set(family, (sums.get(family) ?? 0) + Number(sizes?.[i]?.[1] ?? 0));
    });
  } while (cursor !== "0");
  return Object.fromEntries(
    [...sums].sort((a, b) => b[1] - a[1]).map(([family, bytes]) => [family, Math.round(bytes / n)]),
  );
}

async function measure(layout: "v1 (before)" | "now") {
  const dataDir = await Deno.makeTempDir({ prefix: "edgepush-bench-mem-" });
  const server = await startRedisServer({ dataDir, appendOnly: false });
  const handle = createRedis({ kind: "tcp", url: server.url });
  const io = new IORedis.default(server.url);
  const appId = "app_0123456789abcdef01234567";
  try {
    const { redis } = handle;
    const segments = createSegments({ redis });
    // Segments exist first (so registrations reindex them, as they do in production).
    for (let s = 0; s < SEGMENTS; s++) await segments.put(appId, `seg-${s}`, { name: `Seg ${s}` });
    const base = await usedMemory(io);
    const started = performance.now();
    const v1 = createV1Writer(redis);
    const registry = createRegistry({ redis });
    let next = 0;
    const lane = async () => {
      while (next < N) {
        const input = installation(next++);
        if (layout === "v1 (before)") await v1.register(appId, input);
        else await registry.register(appId, input);
      }
    };
    await Promise.all(Array.from({ length: LANES }, lane));
    const writeSeconds = (performance.now() - started) / 1000;
    const afterInstallations = await usedMemory(io);
    // The since-last-sync change log: emptied by every daily sync.
    let dirty = 0; // the change log: a set of ids before layout v7 (segdirty), a bitmap since
    for (const key of ["segdirty", "segdb"]) {
      dirty += Number(
        await io.call("MEMORY", "USAGE", `ep:v1:{${appId}}:${key}`, "SAMPLES", "0") ?? 0,
      );
    }
    const users = Math.floor((N - 1) * 0.64) + 1;
    let memberships = 0;
    for (let s = 0; s < SEGMENTS; s++) {
      const ids: string[] = [];
      for (let u = s % 3; u < users; u += 3) ids.push(`user-${u}`);
      for (let i = 0; i < ids.length; i += 10_000) {
        const chunk = ids.slice(i, i + 10_000);
        if (layout === "v1 (before)") await v1.addMembers(appId, `seg-${s}`, chunk);
        else await segments.updateMembers(appId, `seg-${s}`, { add: chunk });
      }
      memberships += ids.length;
    }
    const afterMembers = await usedMemory(io);
    return {
      layout,
      installations: N,
      "bytes/installation": Math.round((afterInstallations - base) / N),
      "bytes/installation without change log": Math.round((afterInstallations - base - dirty) / N),
      memberships,
      "bytes/membership": Math.round((afterMembers - afterInstallations) / memberships),
      "write s": +writeSeconds.toFixed(1),
      families: await families(io, N),
    };
  } finally {
    io.disconnect();
    await handle.close();
    await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const rows = [await measure("v1 (before)"), await measure("now")];
  console.log(
    `Redis memory (${
      N.toLocaleString("en")
    } installations, ${SEGMENTS} segments; targets ≤ 600 B/installation, ≤ 120 B/membership)`,
  );
  console.table(rows.map(({ families: _, ...row }) => row));
  console.log("MEMORY USAGE per key family, bytes per installation (after the member uploads):");
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.families)))];
  console.table(
    Object.fromEntries(
      names.map((f) => [f, Object.fromEntries(rows.map((r) => [r.layout, r.families[f] ?? 0]))]),
    ),
  );
}
