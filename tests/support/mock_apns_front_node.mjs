/**
 * The mock APNs' HTTP/2 front (mock_apns_front.mjs) as a Node process, spawned by
 * mock_apns_link.ts. stdin carries newline-delimited JSON: first the front's config, then
 * commands; stdout carries events the same way, batched per turn of the event loop so that a
 * benchmark's 100k requests do not cost 100k writes. stdin's end (the parent closed it, or died)
 * stops the front and exits, so no orphan keeps the ports. Logs go to stderr only.
 *
 * @module
 */
import process from "node:process";
import { startFront } from "./mock_apns_front.mjs";

let out = [];
let flushing = false;
function flush() {
  flushing = false;
  if (out.length === 0) return;
  const text = out.join("\n") + "\n";
  out = [];
  process.stdout.write(text);
}
function emit(event) {
  out.push(JSON.stringify(event));
  if (!flushing) {
    flushing = true;
    setImmediate(flush);
  }
}

// A parent gone mid-write: stdin's end follows, nothing is left to tell.
process.stdout.on("error", () => process.exit(0));
// Ctrl-C in a terminal reaches the whole process group: the parent decides when the front stops.
process.on("SIGINT", () => {});

let front;
let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await front?.close();
  flush();
  process.exit(0);
}

// The first line is the config; commands that arrive while the listeners start wait for them.
let started = false;
const early = [];
function onMessage(message) {
  if (front) return front.command(message);
  if (started) return void early.push(message);
  started = true;
  startFront(message, emit).then((f) => {
    front = f;
    emit({ t: "ready", ports: f.ports });
    for (const m of early.splice(0)) f.command(m);
  }, (error) => {
    process.stderr.write(`mock APNs front: ${error?.stack ?? error}\n`);
    process.exit(1);
  });
}

let rest = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  const lines = (rest + chunk).split("\n");
  rest = lines.pop();
  for (const line of lines) if (line) onMessage(JSON.parse(line));
});
process.stdin.on("end", stop);
