/**
 * What cluster mode adds to the TCP requester: the check that a pipeline or transaction stays
 * in one slot, SCAN routed to the right masters and FUNCTION's changes sent to every master
 * (ioredis sends a keyless command to one arbitrary node).
 *
 * @module
 */
import type IORedis from "ioredis";
import { getKeyIndexes } from "@ioredis/commands";
import calculateSlot from "cluster-key-slot";

/** The ioredis client a requester drives: one connection, or a cluster. */
export type Client = IORedis.default | IORedis.Cluster;

/** One command as the Upstash client sends it. */
export type Command = [string, ...unknown[]];

/**
 * Thrown before a pipeline or transaction whose keys fall in more than one cluster slot is
 * sent: Redis Cluster would refuse it with CROSSSLOT. Its message names the keys and their
 * slots. Domain code issues batches per app (one hash tag), so this is a bug to fix, not an
 * outage.
 */
export class CrossSlotBatch extends Error {
  override name = "CrossSlotBatch";
}

/**
 * SCAN over a cluster, which ioredis would send to one arbitrary node. A MATCH pattern with a
 * literal hash tag (`ep:v1:{app_1}:*`) names keys of one slot, so that slot's master is scanned;
 * any other pattern walks every master in turn, the cursor reading `<master>:<cursor>`.
 */
export function scanRouter(cluster: IORedis.Cluster): Pick<Client, "call"> {
  return {
    async call(_name: string, ...args: (string | number)[]) {
      const [cursor, ...options] = args.map(String);
      const matchAt = options.findIndex((o) => o.toLowerCase() === "match");
      const tag = matchAt >= 0 ? literalHashTag(options[matchAt + 1] ?? "") : null;
      const masters = cluster.nodes("master").sort((a, b) => nodeName(a) < nodeName(b) ? -1 : 1);
      if (tag !== null) {
        const owner = cluster.slots[calculateSlot(tag)]?.[0];
        const node = masters.find((m) => nodeName(m) === owner);
        if (!node) throw new Error(`no master serves the slot of {${tag}} right now`);
        return await node.call("scan", cursor, ...options);
      }
      const [at, inner] = cursor === "0" ? [0, "0"] : cursor.split(":");
      const index = Number(at);
      if (!(index >= 0 && index < masters.length)) return ["0", []];
      const [next, keys] = await masters[index].call("scan", inner, ...options) as [
        string,
        string[],
      ];
      if (String(next) !== "0") return [`${index}:${next}`, keys];
      return [index + 1 < masters.length ? `${index + 1}:0` : "0", keys];
    },
  } as Pick<Client, "call">;
}

function nodeName(node: IORedis.default): string {
  return `${node.options.host}:${node.options.port}`;
}

/** FUNCTION subcommands that change the libraries: each master keeps its own. */
const FUNCTION_CHANGES = new Set(["load", "delete", "flush", "restore"]);

/**
 * FUNCTION over a cluster. Each master keeps its own libraries (its replicas copy them), and an
 * FCALL runs on the master of its key's slot, so a library must be on every master: LOAD,
 * DELETE, FLUSH and RESTORE go to each master in turn and answer as the last one did (an
 * error from any is thrown). Reads (LIST, STATS, DUMP) go to one master.
 */
export function functionRouter(cluster: IORedis.Cluster): Pick<Client, "call"> {
  return {
    async call(name: string, ...args: (string | number)[]) {
      const sub = String(args[0] ?? "").toLowerCase();
      const masters = cluster.nodes("master");
      if (masters.length === 0) throw new Error("no cluster master is known right now");
      if (!FUNCTION_CHANGES.has(sub)) return await masters[0].call(name, ...args);
      let answer: unknown;
      for (const master of masters) answer = await master.call(name, ...args);
      return answer;
    },
  } as Pick<Client, "call">;
}

/** The hash tag of a MATCH pattern when it is literal (no glob characters), else null. */
function literalHashTag(pattern: string): string | null {
  const open = pattern.indexOf("{");
  const close = open >= 0 ? pattern.indexOf("}", open + 1) : -1;
  if (close <= open + 1) return null;
  const prefix = pattern.slice(0, close + 1);
  if (/[*?[\]\\]/.test(prefix)) return null;
  return pattern.slice(open + 1, close);
}

/** @throws {CrossSlotBatch} when the batch's keys hash to more than one slot. */
export function assertOneSlot(commands: Command[], route: string): void {
  const slots = new Map<number, string>();
  for (const [name, ...args] of commands) {
    const text = args.map(String);
    let indexes: number[] = [];
    try {
      indexes = getKeyIndexes(String(name).toLowerCase(), text);
    } catch { /* unknown command: Redis will say so */ }
    for (const i of indexes) {
      const slot = calculateSlot(text[i]);
      if (!slots.has(slot)) slots.set(slot, text[i]);
    }
  }
  if (slots.size <= 1) return;
  const named = [...slots].map(([slot, key]) => `${key} (slot ${slot})`).join(", ");
  throw new CrossSlotBatch(
    `a ${route === "pipeline" ? "pipeline" : "transaction"} must stay within one cluster slot; ` +
      `its keys span ${slots.size}: ${named}`,
  );
}
