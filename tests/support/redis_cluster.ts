/**
 * A private Redis Cluster per test file: three masters and three replicas of
 * `redis-server --cluster-enabled yes` on free ports, joined with `redis-cli --cluster create
 * --cluster-replicas 1`, each node with its own directory under one temp dir (never the shared
 * Redis on 6379). `kill(port)` SIGKILLs a node for failover tests; `stop()` tears everything
 * down.
 *
 * @module
 */
import IORedis from "ioredis";
import { createRedis, freePort, rawRedisReply, type RedisHandle } from "../../lib/redis/mod.ts";
import type { Redis } from "@upstash/redis";
import { type TestRedis, waitFor } from "./redis_server.ts";

/** One node of the test cluster. */
export interface ClusterNode {
  port: number;
  url: string;
  /** Whether this process is still running (false after `kill`). */
  alive: boolean;
}

/** A running test cluster and a cluster-mode client for it. */
export interface TestCluster {
  nodes: ClusterNode[];
  /** `redis://127.0.0.1:<port>` of every node, the `REDIS_CLUSTER_NODES` seeds. */
  seeds: string[];
  redis: Redis;
  handle: RedisHandle;
  /** Ports of the nodes that are masters now (asks the live nodes). */
  masters(): Promise<number[]>;
  /** The port of the master that serves `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** Runs one command on one node (no redirection). */
  command(port: number, ...args: (string | number)[]): Promise<unknown>;
  /** SIGKILLs one node. */
  kill(port: number): Promise<void>;
  /** SIGSTOPs (`true`) or SIGCONTs (`false`) one node: a replica that falls behind. */
  freeze(port: number, frozen: boolean): void;
  /** The port of a master's replica. */
  replicaOf(master: number): Promise<number>;
  /** Resolves once every slot is served by a live master and the cluster state is ok. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@linkcode startTestCluster}. */
export interface TestClusterOptions {
  /**
   * `cluster-node-timeout`, ms: how soon a dead master's replica takes over. Default: 5000, so a
   * master slowed by a loaded machine is not failed over by mistake (which loses its latest
   * writes); failover tests pass 1000.
   */
  nodeTimeoutMs?: number;
}

/** Starts a 3-master, 3-replica cluster. Always `await cluster.stop()` in `finally`. */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const root = await Deno.makeTempDir({ prefix: "edgepush-cluster-" });
  const children = new Map<number, Deno.ChildProcess>();
  const nodes: ClusterNode[] = [];
  const admin = new Map<number, IORedis.default>();
  let handle: RedisHandle | undefined;
  const stop = async () => {
    await handle?.close().catch(() => {});
    for (const client of admin.values()) client.disconnect();
    for (const child of children.values()) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await Promise.all([...children.values()].map((c) => c.status));
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  const adminClient = (port: number) => {
    let client = admin.get(port);
    if (!client) {
      client = new IORedis.default({ host: "127.0.0.1", port, maxRetriesPerRequest: 0 });
      client.on("error", () => {});
      admin.set(port, client);
    }
    return client;
  };
  const command = (port: number, ...args: (string | number)[]) =>
    adminClient(port).call(String(args[0]), ...args.slice(1).map(String));
  try {
    const taken = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const port = clusterPort(taken);
      const dir = `${root}/${port}`;
      await Deno.mkdir(dir);
      children.set(port, spawnNode(port, dir, options.nodeTimeoutMs ?? 5_000));
      nodes.push({ port, url: `redis://127.0.0.1:${port}`, alive: true });
    }
    for (const node of nodes) {
      await waitFor(async () => (await rawRedisReply(node.port, "PING\r\n"))?.startsWith("+PONG"), {
        timeoutMs: 10_000,
        what: `redis-server on ${node.port}`,
      });
    }
    await createCluster(nodes.map((n) => n.port));
    const cluster: TestCluster = {
      nodes,
      seeds: nodes.map((n) => n.url),
      redis: undefined as unknown as Redis,
      handle: undefined as unknown as RedisHandle,
      async masters() {
        const live = nodes.find((n) => n.alive)!;
        const slots = await command(live.port, "CLUSTER", "SLOTS") as [number, number, unknown[]][];
        return [...new Set(slots.map((s) => Number((s[2] as unknown[])[1])))].sort();
      },
      async masterOf(key) {
        const live = nodes.find((n) => n.alive)!;
        const slot = Number(await command(live.port, "CLUSTER", "KEYSLOT", key));
        const slots = await command(live.port, "CLUSTER", "SLOTS") as [number, number, unknown[]][];
        const range = slots.find(([from, to]) => from <= slot && slot <= to)!;
        return Number((range[2] as unknown[])[1]);
      },
      command,
      async kill(port) {
        const node = nodes.find((n) => n.port === port)!;
        node.alive = false;
        admin.get(port)?.disconnect();
        admin.delete(port);
        children.get(port)!.kill("SIGKILL");
        await children.get(port)!.status;
      },
      freeze(port, frozen) {
        children.get(port)!.kill(frozen ? "SIGSTOP" : "SIGCONT");
      },
      async replicaOf(master) {
        const info = String(await command(master, "INFO", "replication"));
        return Number(/slave0:.*port=(\d+)/.exec(info)![1]);
      },
      async waitHealthy(timeoutMs = 20_000) {
        await waitFor(async () => {
          for (const node of nodes.filter((n) => n.alive)) {
            const info = String(await command(node.port, "CLUSTER", "INFO").catch(() => ""));
            if (!info.includes("cluster_state:ok")) return false;
          }
          const masters = await cluster.masters().catch(() => []);
          return masters.length === 3 &&
            masters.every((p) => nodes.find((n) => n.port === p)?.alive);
        }, { timeoutMs, intervalMs: 50, what: "a healthy cluster" });
      },
      stop,
    };
    await cluster.waitHealthy();
    // Replicas in sync: every master streams to one replica (not still waiting for its RDB).
    await waitFor(async () => {
      for (const port of await cluster.masters()) {
        const info = String(await command(port, "INFO", "replication"));
        if (!/slave0:.*state=online/.test(info)) return false;
      }
      return true;
    }, { timeoutMs: 20_000, intervalMs: 50, what: "replicas in sync" });
    handle = createRedis({ kind: "cluster", nodes: cluster.seeds });
    cluster.handle = handle;
    cluster.redis = handle.redis;
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

function spawnNode(port: number, dir: string, nodeTimeoutMs: number): Deno.ChildProcess {
  return new Deno.Command("redis-server", {
    args: [
      "--bind",
      "127.0.0.1",
      "--port",
      String(port),
      "--dir",
      dir,
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
      "--cluster-node-timeout",
      String(nodeTimeoutMs),
      // A replica may always take over, however long it was cut off (tests kill masters).
      "--cluster-replica-validity-factor",
      "0",
      // A replica's first sync starts at once (Redis waits 5 s by default for more replicas).
      "--repl-diskless-sync-delay",
      "0",
      "--appendonly",
      "no",
      "--save",
      "",
      "--protected-mode",
      "yes",
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
    ],
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function createCluster(ports: number[]): Promise<void> {
  const output = await new Deno.Command("redis-cli", {
    args: [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "1",
      "--cluster-yes",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    throw new Error(`redis-cli --cluster create failed:\n${text}`);
  }
}

/** The cluster as a {@linkcode TestRedis}, for harnesses; stopping it leaves the cluster up. */
export function clusterAsTestRedis(cluster: TestCluster): TestRedis {
  const first = cluster.nodes[0];
  return {
    server: { url: first.url, port: first.port, stop: () => Promise.resolve() },
    redis: cluster.redis,
    handle: cluster.handle,
    url: first.url,
    stop: () => Promise.resolve(),
  };
}

/** Every key on one node matching `pattern` (SCAN, no redirection). */
export async function keysOn(
  cluster: TestCluster,
  port: number,
  pattern: string,
): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await cluster.command(
      port,
      "SCAN",
      cursor,
      "MATCH",
      pattern,
      "COUNT",
      1000,
    ) as [
      string,
      string[],
    ];
    cursor = String(next);
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

/**
 * A free port for a cluster node: distinct from the others, and with its cluster bus port
 * (port + 10000) free too.
 */
function clusterPort(taken: Set<number>): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = freePort();
    if (port > 55_535 || taken.has(port) || taken.has(port + 10_000)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port: port + 10_000 }).close();
    } catch {
      continue;
    }
    taken.add(port).add(port + 10_000);
    return port;
  }
  throw new Error("no free port pair (port, port + 10000) for a cluster node");
}
