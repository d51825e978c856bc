/**
 * Cluster benchmark: the same workloads against one redis-server and against a private
 * 3-master, 3-replica Redis Cluster (cluster mode), in one run:
 *
 * - SDK registrations/s through `main.ts` (wrk; see registration.ts). One app, so every
 *   registration lands on one master: the throughput one shard sustains for one app.
 * - a campaign end to end (see campaign.ts): notifications/s, and exactly-once (edgepush's
 *   accepted count and the mock's both equal to the recipients).
 * - Redis memory of one app on its master at `--installations` installations registered through
 *   the real registry (each with a user id), then per segment membership with every user in one
 *   segment: `used_memory` deltas, so the per-app ceiling can be computed.
 *
 * `deno run -A tests/bench/cluster.ts [--duration 10] [--recipients 100000]
 *   [--installations 1000000] [--skip registration,campaign,memory]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createSealedBox, generateMasterKey } from "../../lib/crypto/sealed_box.ts";
import { silentLogger } from "../../lib/observability/logger.ts";
import { createMetrics } from "../../lib/observability/metrics.ts";
import { createServices } from "../../lib/services.ts";
import { generateApnsKey } from "../support/harness.ts";
import { startTestCluster } from "../support/redis_cluster.ts";
import { runCampaignBench } from "./campaign.ts";
import { runRegistrationBench } from "./registration.ts";

/** One memory reading. */
export interface MemoryRow {
  what: string;
  count: number;
  bytesTotal: number;
  bytesEach: number;
  seconds: number;
}

async function usedMemory(
  command: (port: number, ...args: string[]) => Promise<unknown>,
  port: number,
) {
  const info = String(await command(port, "INFO", "memory"));
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

/**
 * Registers `installations` devices of one app through the real registry on a cluster, then
 * puts every user in one segment; returns the app master's memory per installation and per
 * membership.
 */
export async function runMemoryBench(installations: number): Promise<MemoryRow[]> {
  const cluster = await startTestCluster();
  const services = createServices({
    redis: cluster.redis,
    box: await createSealedBox(generateMasterKey()),
    logger: silentLogger,
    metrics: createMetrics(),
    apns: { productionHost: "127.0.0.1:1", developmentHost: "127.0.0.1:1" },
    sdkRateLimit: null,
    staleAfterDays: 270,
  });
  try {
    const key = await generateApnsKey();
    const { appId } = await services.apps.create({
      name: "Memory",
      bundleId: "com.example.memory",
      apns: { teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKeyPem },
    });
    const master = await cluster.masterOf(`{${appId}}`);
    const command = (port: number, ...args: string[]) => cluster.command(port, ...args);
    const rows: MemoryRow[] = [];
    const measure = async (what: string, count: number, work: () => Promise<void>) => {
      const before = await usedMemory(command, master);
      const started = performance.now();
      await work();
      const bytes = await usedMemory(command, master) - before;
      rows.push({
        what,
        count,
        bytesTotal: bytes,
        bytesEach: Math.round(bytes / count),
        seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      });
    };
    await measure("installation (token, user, attributes, indexes)", installations, async () => {
      const step = 2_000;
      for (let from = 0; from < installations; from += step) {
        await Promise.all(
          Array.from({ length: Math.min(step, installations - from) }, (_, k) => {
            const i = from + k;
            return services.registry.register(appId, {
              token: i.toString(16).padStart(64, "0"),
              environment: "production",
              userId: `user-${i}`,
              attributes: { appVersion: "3.2.1", locale: "en_US", osVersion: "18.1" },
            });
          }),
        );
      }
    });
    await services.segments.put(appId, "everyone", { name: "Everyone" });
    await measure(
      "segment membership (member + reach set + user index)",
      installations,
      async () => {
        const step = 10_000;
        for (let from = 0; from < installations; from += step) {
          const add = Array.from(
            { length: Math.min(step, installations - from) },
            (_, k) => `user-${from + k}`,
          );
          await services.segments.updateMembers(appId, "everyone", { add });
        }
      },
    );
    return rows;
  } finally {
    await services.relay.close();
    await cluster.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string", default: "10" },
      recipients: { type: "string", default: "100000" },
      installations: { type: "string", default: "1000000" },
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
  if (!skip.includes("memory")) {
    const rows = await runMemoryBench(Number(values.installations));
    console.log(`\nRedis memory of one app on its cluster master (used_memory deltas)`);
    console.table(rows);
  }
}
