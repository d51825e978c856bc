/**
 * Cluster benchmark: the same workloads against one redis-server and against a private
 * 3-master, 3-replica Redis Cluster (cluster mode), in one run:
 *
 * - SDK registrations/s through `main.ts` (wrk; see registration.ts). One app, so every
 *   registration lands on one master: the throughput one shard sustains for one app.
 * - a campaign end to end (see campaign.ts): notifications/s, and exactly-once (edgepush's
 *   accepted count and the mock's both equal to the recipients).
 *
 * Redis memory per installation and per segment membership, the other half of the per-app
 * ceiling, is `registry_memory.ts` (`--only redis-memory`): keys weigh the same on a cluster
 * master as on one redis-server.
 *
 * `deno run -A tests/bench/cluster.ts [--duration 10] [--recipients 100000]
 *   [--skip registration,campaign]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runCampaignBench } from "./campaign.ts";
import { runRegistrationBench } from "./registration.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string", default: "10" },
      recipients: { type: "string", default: "100000" },
      skip: { type: "string", default: "" },
    },
  });
  const skip = values.skip.split(",");
  console.log(`cluster bench (${navigator.hardwareConcurrency} cores)`);
  if (!skip.includes("registration")) {
    const rows = [];
    for (const cluster of [false, true]) {
      rows.push(
        ...await runRegistrationBench({
          durationSeconds: Number(values.duration),
          runs: ["edgepush"],
          cluster,
        }),
      );
    }
    console.log("\nSDK registrations/s, one app, wrk -c64: one redis-server vs cluster mode");
    console.table(rows);
  }
  if (!skip.includes("campaign")) {
    const rows = [];
    for (const cluster of [false, true]) {
      const [row] = await runCampaignBench({
        recipients: Number(values.recipients),
        relayOnly: false,
        cluster,
      });
      rows.push({
        ...row,
        exactlyOnce: row.accepted === row.recipients && row.mockAccepted === row.recipients,
      });
    }
    console.log("\ncampaign end to end: one redis-server vs cluster mode");
    console.table(rows);
  }
}
