/**
 * `deno task bench`: every benchmark, one after another, each in its own process so one's
 * memory and connections do not colour the next. Each prints its own table: the project's
 * figure beside its peer or baseline, measured in the same run on the same machine.
 *
 * `--quick` shrinks every size (for a smoke run; the README's targets are stated at full size).
 *
 * @module
 */
import { parseArgs } from "node:util";

/** One benchmark: its script and its arguments at full and quick size. */
interface Bench {
  name: string;
  what: string;
  script: string;
  full: string[];
  quick: string[];
  denoFlags?: string[];
}

const BENCHES: Bench[] = [
  {
    name: "registration",
    what: "SDK registrations/s through `main.ts` (wrk) vs a bare Hono handler + 1 Redis call",
    script: "registration.ts",
    full: ["--duration=10"],
    quick: ["--duration=3"],
  },
  {
    name: "send",
    what: "relay notifications/s and CPU per 1k vs @parse/node-apn, apns2 and h2load",
    script: "send_bench.ts",
    full: ["100000"],
    quick: ["20000"],
  },
  {
    name: "campaign",
    what: "segment in Redis → workers → mock APNs, end to end, beside relay-only and h2load",
    script: "campaign.ts",
    full: ["--recipients", "20000,100000"],
    quick: ["--recipients", "20000"],
  },
  {
    name: "memory",
    what: "worker peak RSS for a 1,000,000-recipient campaign (budget 200 MB)",
    script: "campaign_memory.ts",
    full: ["--recipients", "1000000"],
    quick: ["--recipients", "100000"],
  },
  {
    name: "cluster",
    what: "one redis-server vs a 3-master Redis Cluster: registrations/s and a campaign with " +
      "exactly-once (memory per installation is redis-memory)",
    script: "cluster.ts",
    full: ["--duration", "10", "--recipients", "100000"],
    quick: ["--duration", "3", "--recipients", "20000"],
  },
  {
    name: "redis-memory",
    what: "Redis bytes per installation and per segment membership, layout before v2 vs now",
    script: "registry_memory.ts",
    full: ["--installations", "1000000", "--segments", "20"],
    quick: ["--installations", "100000", "--segments", "20"],
  },
  {
    name: "segments",
    what: "1M installations × 20 segments: full rebuild and a 1% churn pass",
    script: "segments.ts",
    full: ["--installations", "1000000", "--segments", "20"],
    quick: ["--installations", "100000", "--segments", "20"],
  },
];

const { values } = parseArgs({
  args: Deno.args,
  options: { only: { type: "string" }, quick: { type: "boolean", default: false } },
});
const only = values.only?.split(",").map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((name) => !BENCHES.some((b) => b.name === name)) ?? [];
if (unknown.length) {
  console.error(
    `unknown benchmark: ${unknown.join(", ")}; choose from ${BENCHES.map((b) => b.name)}`,
  );
  Deno.exit(2);
}

const summary: Array<{ bench: string; seconds: string; result: string }> = [];
for (const bench of BENCHES) {
  if (only && !only.includes(bench.name)) continue;
  const args = values.quick ? bench.quick : bench.full;
  console.log(`\n## ${bench.name}: ${bench.what}\n`);
  const started = performance.now();
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...(bench.denoFlags ?? []),
      new URL(bench.script, import.meta.url).pathname,
      ...args,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  summary.push({
    bench: bench.name,
    seconds: ((performance.now() - started) / 1000).toFixed(0),
    result: code === 0 ? "ok" : `exit ${code}`,
  });
}
console.log("\n## summary\n");
console.table(summary);
if (summary.some((s) => s.result !== "ok")) Deno.exit(1);
