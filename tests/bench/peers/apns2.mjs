// Benchmark peer: apns2 on Node. Env: N, HOST, PORT, KEY_FILE, KEY_ID, TEAM_ID, TOPIC.
import { readFileSync } from "node:fs";
import { ApnsClient, Notification } from "apns2";
const n = Number(process.env.N);
const client = new ApnsClient({
  team: process.env.TEAM_ID,
  keyId: process.env.KEY_ID,
  signingKey: readFileSync(process.env.KEY_FILE),
  defaultTopic: process.env.TOPIC,
  host: process.env.HOST,
  port: Number(process.env.PORT),
});
const token = "d".repeat(64);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let ok = 0;
const chunk = 1000;
for (let i = 0; i < n; i += chunk) {
  const notes = Array.from(
    { length: Math.min(chunk, n - i) },
    () => new Notification(token, { alert: { title: "Hello", body: "Bench" } }),
  );
  const results = await client.sendMany(notes);
  ok += results.filter((r) => !r.error).length;
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, ok }));
process.exit(0);
