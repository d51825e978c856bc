// Benchmark peer: @parse/node-apn on Node. Env: N, HOST, PORT, KEY_FILE, KEY_ID, TEAM_ID, TOPIC.
// The mock's CA comes in through NODE_EXTRA_CA_CERTS.
import apn from "@parse/node-apn";
const n = Number(process.env.N);
const provider = new apn.Provider({
  token: { key: process.env.KEY_FILE, keyId: process.env.KEY_ID, teamId: process.env.TEAM_ID },
  production: true,
  address: process.env.HOST,
  port: Number(process.env.PORT),
});
const token = "d".repeat(64);
const note = new apn.Notification({
  alert: { title: "Hello", body: "Bench" },
  topic: process.env.TOPIC,
});
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let ok = 0;
const chunk = 1000;
for (let i = 0; i < n; i += chunk) {
  const r = await provider.send(note, Array(Math.min(chunk, n - i)).fill(token));
  ok += r.sent.length;
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, ok }));
provider.shutdown();
process.exit(0);
