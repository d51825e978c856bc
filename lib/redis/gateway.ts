/**
 * The Upstash REST protocol in front of any Redis: `POST /` (one command), `/pipeline` and
 * `/multi-exec`, bearer-token auth and `Upstash-Encoding: base64`, and Upstash's script flags
 * (see ./script_flags.ts), so the stock clients work unchanged. Self-hosters point edge
 * instances at their own Redis through it; CI exercises the stock HTTP client with it.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errors as upstashErrors, type Requester } from "@upstash/redis";
import { z } from "zod";
import { safeEqual } from "../auth/secrets.ts";
import { Unavailable } from "../errors.ts";
import { withUpstashScriptFlags } from "./script_flags.ts";

/** Options for {@linkcode createGateway}. */
export interface GatewayOptions {
  /** Forwards commands to Redis (the TCP requester). */
  requester: Requester;
  /** Bearer token clients must present. */
  token: string;
  /** Largest accepted body in bytes. Default: 10 MiB. */
  maxBodyBytes?: number;
  /** Most commands in one pipeline or transaction. Default: `10000`. */
  maxCommands?: number;
}

const Arg = z.union([z.string(), z.number(), z.boolean()]);
const Command = z.array(Arg).min(1);

/**
 * Commands that would hold or repurpose the shared connection (pub/sub, monitoring, database
 * switching, replication, blocking pops). The REST protocol is request/response, so they are
 * refused rather than left to hang every other client.
 */
const REFUSED = new Set([
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "monitor",
  "sync",
  "psync",
  "select",
  "quit",
  "reset",
  "shutdown",
  "blpop",
  "brpop",
  "brpoplpush",
  "blmove",
  "blmpop",
  "bzpopmin",
  "bzpopmax",
  "bzmpop",
  "wait",
  "waitaof",
]);

class GatewayError extends Error {
  constructor(readonly status: 400 | 401 | 404 | 413 | 500, message: string) {
    super(message);
  }
}

/** Builds the gateway Hono app. */
export function createGateway(options: GatewayOptions) {
  if (options.token.length < 16) throw new Error("REDIS_HTTP_TOKEN must be at least 16 characters");
  const maxCommands = options.maxCommands ?? 10_000;
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const requester = withUpstashScriptFlags(options.requester);
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof GatewayError) return c.json({ error: error.message }, error.status);
    if (error instanceof Unavailable) return c.json({ error: error.message }, 500);
    return c.json({ error: "internal error" }, 500);
  });
  app.notFound((c) => c.json({ error: `not found: ${c.req.method} ${c.req.path}` }, 404));

  app.use(async function gatewayAuth(c, next) {
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    if (!match || !(await safeEqual(match[1], options.token))) {
      throw new GatewayError(401, "Unauthorized");
    }
    await next();
  });
  app.use(bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw new GatewayError(413, `request body exceeds ${maxBodyBytes} bytes`);
    },
  }));

  app.post("/", async (c) => {
    const command = parse(Command, await readJson(c.req.raw));
    const reply = await forward(requester, {
      body: normalizeCommand(command),
    }) as { result?: unknown; error?: string };
    if (reply.error !== undefined) return c.json({ error: reply.error }, 400);
    return c.json({ result: encode(reply.result, base64(c.req.raw)) });
  });

  for (const route of ["pipeline", "multi-exec"] as const) {
    app.post(`/${route}`, async (c) => {
      const commands = parse(z.array(Command).min(1).max(maxCommands), await readJson(c.req.raw));
      const replies = await forward(requester, {
        path: [route],
        body: commands.map(normalizeCommand),
      }) as Array<{ result?: unknown; error?: string }>;
      const b64 = base64(c.req.raw);
      return c.json(
        replies.map((r) =>
          r.error !== undefined ? { error: r.error } : { result: encode(r.result, b64) }
        ),
      );
    });
  }
  return app;
}

async function readJson(req: Request): Promise<unknown> {
  try {
    return await req.json();
  } catch {
    throw new GatewayError(400, "request body must be a JSON array");
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new GatewayError(400, "expected a command: a JSON array of strings and numbers");
  }
  return result.data;
}

function normalizeCommand(command: z.infer<typeof Command>): string[] {
  const name = String(command[0]).toLowerCase();
  if (REFUSED.has(name)) {
    throw new GatewayError(400, `ERR command '${name}' is not supported over the REST gateway`);
  }
  return command.map(String);
}

async function forward(
  requester: Requester,
  req: { path?: string[]; body: unknown },
): Promise<unknown> {
  try {
    return await requester.request(req);
  } catch (error) {
    // A transaction that Redis refused as a whole (EXECABORT): Upstash answers 400.
    if (error instanceof upstashErrors.UpstashError) throw new GatewayError(400, error.message);
    throw error;
  }
}

function base64(req: Request): boolean {
  return req.headers.get("upstash-encoding")?.toLowerCase() === "base64";
}

const encoder = new TextEncoder();

/** Base64-encodes every string at every depth (including "OK"); numbers and nil pass. */
function encode(value: unknown, enabled: boolean): unknown {
  if (!enabled) return value;
  if (typeof value === "string") {
    let binary = "";
    for (const b of encoder.encode(value)) binary += String.fromCharCode(b);
    return btoa(binary);
  }
  if (Array.isArray(value)) return value.map((v) => encode(v, enabled));
  return value;
}
