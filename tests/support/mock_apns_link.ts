/**
 * The link between the mock APNs' state (mock_apns.ts, in Deno) and its HTTP/2 front
 * (mock_apns_front.mjs). With `node` on PATH the front runs as a Node child process
 * (mock_apns_front_node.mjs) and the link speaks newline-delimited JSON over its stdin and
 * stdout; without Node the front is imported into this process and called directly. Either way
 * the state sees the same events in the same order.
 *
 * Why a separate process: Deno's `node:http2` server can abort inside nghttp2 when a client
 * closes its session after heavy traffic (denoland/deno#36788), taking the test process with it.
 * Node's does not, and edgepush's own client side was never seen to.
 *
 * @module
 */

/** What the front needs to listen (see mock_apns_front.mjs). */
export interface FrontConfig {
  key: string;
  cert: string;
  ca: string[];
  hostname: string;
  ports: { production: number; development: number };
  refuseUnknownClients: boolean;
  maxConcurrentStreams: number;
  goAwayAfter: number | null;
}

/** An event from the front, in the order it happened. */
export type FrontEvent =
  | { t: "open"; session: number; env: Environment; authorized: boolean; cert?: string }
  | { t: "close"; session: number }
  | { t: "peak"; peak: number }
  | {
    t: "req";
    n: number;
    session: number;
    stream: number;
    env: Environment;
    headers: Record<string, string>;
    /** base64 */
    body: string;
  }
  | { t: "lost" }
  | { t: "dropped"; id: number }
  | { t: "ready"; ports: { production: number; development: number } };

/** How the front answers request `n`. */
export interface FrontDirective {
  t: "res";
  n: number;
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
  /** GOAWAY with this last stream id first. */
  goaway?: number;
  /** RST_STREAM(REFUSED_STREAM) instead of an answer. */
  refuse?: boolean;
}

/** A command to the front. */
export type FrontCommand =
  | FrontDirective
  | { t: "goAwayAfter"; n: number | null }
  | { t: "drop"; id: number };

type Environment = "production" | "development";

/** Where the front runs: `auto` is Node when `node` is on PATH, else in-process. */
export type FrontMode = "auto" | "node" | "in-process";

/** A running front. */
export interface FrontLink {
  ports: { production: number; development: number };
  /** Where it runs. */
  mode: "node" | "in-process";
  /** Queues a command; commands reach the front in order. */
  send(command: FrontCommand): void;
  /** Stops the front (and its process) and resolves once it is gone. */
  close(): Promise<void>;
}

interface FrontModule {
  startFront(
    config: FrontConfig,
    emit: (event: FrontEvent) => void,
  ): Promise<
    {
      ports: { production: number; development: number };
      command(c: FrontCommand): void;
      close(): Promise<void>;
    }
  >;
}

/** `node`'s path when on PATH. */
export function findNode(): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const path = `${dir}/node`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/**
 * Starts the front; `onEvent` gets every event but `ready`, in order. Without a `mode`,
 * `MOCK_APNS_FRONT` (to run a whole suite one way), else `auto`.
 */
export async function startFront(
  config: FrontConfig,
  onEvent: (event: FrontEvent) => void,
  mode: FrontMode = defaultMode(),
): Promise<FrontLink> {
  const node = mode === "in-process" ? undefined : findNode();
  if (mode === "node" && !node) throw new Error("mock APNs: `node` is not on PATH");
  return node ? await startNodeFront(node, config, onEvent) : await startInProcess(config, onEvent);
}

function defaultMode(): FrontMode {
  const mode = Deno.env.get("MOCK_APNS_FRONT") ?? "auto";
  if (mode === "auto" || mode === "node" || mode === "in-process") return mode;
  throw new Error(`MOCK_APNS_FRONT is auto, node or in-process, got ${JSON.stringify(mode)}`);
}

async function startInProcess(
  config: FrontConfig,
  onEvent: (event: FrontEvent) => void,
): Promise<FrontLink> {
  const { startFront } = await import("./mock_apns_front.mjs") as unknown as FrontModule;
  const front = await startFront(config, onEvent);
  return {
    ports: front.ports,
    mode: "in-process",
    send: (command) => front.command(command),
    close: () => front.close(),
  };
}

async function startNodeFront(
  node: string,
  config: FrontConfig,
  onEvent: (event: FrontEvent) => void,
): Promise<FrontLink> {
  const child = new Deno.Command(node, {
    args: [new URL("./mock_apns_front_node.mjs", import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  let queued: string[] = [];
  let scheduled = false;
  let closing = false;
  // The answers to one chunk of requests go out in one write, not one syscall each: they are
  // decided in the microtasks that follow the chunk, and the flush is queued behind them.
  const flush = () => {
    scheduled = false;
    if (queued.length === 0 || closing) return;
    const text = queued.join("\n") + "\n";
    queued = [];
    writer.write(encoder.encode(text)).catch(() => {});
  };
  const send = (command: FrontCommand) => {
    queued.push(JSON.stringify(command));
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
  };
  queued.push(JSON.stringify(config));
  flush();

  let resolveReady!: (ports: FrontLink["ports"]) => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<FrontLink["ports"]>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const reading = (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stdout) {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (!line) continue;
        const event = JSON.parse(line) as FrontEvent;
        if (event.t === "ready") resolveReady(event.ports);
        else onEvent(event);
      }
    }
  })();
  let listening = false;
  const exited = child.status.then((status) => {
    rejectReady(new Error(`mock APNs: the Node front exited (${status.code}) before listening`));
    if (listening && !closing) {
      console.error(`mock APNs: the Node front exited unexpectedly (code ${status.code})`);
    }
    return status;
  });
  let ports: FrontLink["ports"];
  try {
    ports = await ready;
    listening = true;
  } catch (error) {
    await writer.close().catch(() => {});
    await Promise.all([exited, reading.catch(() => {})]);
    throw error;
  }
  return {
    ports,
    mode: "node",
    send,
    async close() {
      flush();
      closing = true;
      // stdin's end stops the front: it closes its listeners and exits.
      await writer.close().catch(() => {});
      await Promise.all([exited, reading.catch(() => {})]);
    },
  };
}
