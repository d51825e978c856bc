/**
 * The mock APNs as its own process, for the campaign benchmarks (so its CPU is not the
 * worker's). Prints `{"hosts":…,"caFile":…}` once listening, then `{"stats":…}` every 500 ms.
 *
 * `deno run -A tests/bench/campaign_mock_process.ts --key-file k.p8 --key-id K --team-id T`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startMockApns } from "../support/mock_apns.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "key-file": { type: "string" },
    "key-id": { type: "string" },
    "team-id": { type: "string" },
  },
});
const mock = await startMockApns({ record: false });
await mock.addKey(
  values["key-id"]!,
  values["team-id"]!,
  await Deno.readTextFile(values["key-file"]!),
);
const caFile = await Deno.makeTempFile({ prefix: "edgepush-bench-ca-", suffix: ".pem" });
await Deno.writeTextFile(caFile, mock.caPem);
console.log(JSON.stringify({ hosts: mock.hosts, caFile }));
const timer = setInterval(() => console.log(JSON.stringify({ stats: mock.stats })), 500);
const stop = async () => {
  clearInterval(timer);
  console.log(JSON.stringify({ stats: mock.stats, final: true }));
  await mock.close();
  await Deno.remove(caFile).catch(() => {});
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
