/**
 * Memory benchmark: a 1,000,000-recipient campaign (seeded with Lua) sent by one worker process
 * to the mock APNs; reports the worker's peak RSS (VmHWM), which must stay ≤ 200 MB.
 *
 * `deno run -A tests/bench/campaign_memory.ts [--recipients 1000000] [--v8-flags=--max-old-space-size=96,--max-semi-space-size=16]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runCampaignBench } from "./campaign.ts";

/** The memory budget of the README's performance table. */
export const RSS_BUDGET_MB = 200;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      recipients: { type: "string", default: "1000000" },
      // V8 grows its heap lazily up to ~1/4 of RAM; a worker capped at 96 MB of old space and
      // 16 MB semi-spaces (as `deno task worker` runs) keeps RSS ~30 MB under the budget for
      // ~10% throughput. "" runs without the caps.
      "v8-flags": { type: "string", default: "--max-old-space-size=96,--max-semi-space-size=16" },
    },
  });
  const [row] = await runCampaignBench({
    recipients: Number(values.recipients),
    workers: 1,
    v8Flags: values["v8-flags"] ? values["v8-flags"].split(",") : undefined,
    verbose: true,
  });
  console.table([row]);
  const ok = row.peakRssMb !== null && row.peakRssMb <= RSS_BUDGET_MB;
  console.log(
    `worker peak RSS ${row.peakRssMb} MB (budget ${RSS_BUDGET_MB} MB): ${ok ? "OK" : "OVER"}`,
  );
  if (!ok || row.accepted !== row.recipients) Deno.exit(1);
}
