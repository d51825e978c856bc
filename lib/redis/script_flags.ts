/**
 * Upstash accepts Lua script flags that Redis does not: `@upstash/ratelimit` 2.x opens every
 * script with `#!lua flags=allow-key-locking`, which Redis 7 refuses ("Unexpected flag in script
 * shebang"). {@linkcode withUpstashScriptFlags} wraps a requester so that what Upstash accepts,
 * Redis accepts too: the Upstash-only flags are dropped from the shebang of EVAL, EVAL_RO and
 * SCRIPT LOAD texts, and the hash the client computed from its own text keeps working, for
 * EVALSHA, EVALSHA_RO, SCRIPT LOAD's answer and SCRIPT EXISTS.
 *
 * The REST gateway wraps its requester with it, and so does the TCP mode of `createRedis`, so a
 * stock client needs no adaptation in any mode.
 *
 * @module
 */
import type { Requester, UpstashRequest, UpstashResponse } from "@upstash/redis";

/** Flags Upstash documents for its own script engine, which Redis does not know. */
const UPSTASH_ONLY_FLAGS = new Set(["allow-key-locking"]);

/**
 * The script Redis should run for `text`: the shebang without Upstash-only flags (the line stays,
 * so error line numbers match the client's), or `null` when `text` needs no change. Flags Redis
 * knows, and unknown ones Upstash would refuse too, are kept for Redis to judge.
 */
export function translateScript(text: string): string | null {
  const shebang = /^#!lua([^\r\n]*)/.exec(text);
  if (!shebang) return null;
  let changed = false;
  const parts = shebang[1].trim().split(/\s+/).filter(Boolean).flatMap((part) => {
    if (!part.startsWith("flags=")) return [part];
    const flags = part.slice("flags=".length).split(",").filter((flag) => {
      const upstashOnly = UPSTASH_ONLY_FLAGS.has(flag.trim());
      changed ||= upstashOnly;
      return !upstashOnly;
    });
    return flags.length ? [`flags=${flags.join(",")}`] : [];
  });
  if (!changed) return null;
  return `#!lua${parts.map((p) => ` ${p}`).join("")}${text.slice(shebang[0].length)}`;
}

/** Hex SHA-1 of `text`, as Redis names scripts. */
export async function scriptSha(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

type Command = unknown[];

/** The commands {@linkcode withUpstashScriptFlags} may rewrite or answer for. */
const SCRIPT_COMMANDS = new Set(["eval", "eval_ro", "evalsha", "evalsha_ro", "script"]);

/** Whether `command` is one of {@linkcode SCRIPT_COMMANDS}, in any case. */
function isScriptCommand(command: unknown): boolean {
  return Array.isArray(command) && SCRIPT_COMMANDS.has(String(command[0]).toLowerCase());
}

/**
 * Wraps `inner` so scripts carrying Upstash-only flags run on Redis. Each translated script's
 * client hash maps to the hash of what Redis got, in this process; after a restart, the first
 * EVALSHA of such a hash answers NOSCRIPT and the client's EVAL fallback (which every Upstash
 * client has, as Redis itself forgets scripts on restart) restores the mapping.
 */
export function withUpstashScriptFlags(inner: Requester): Requester {
  /** client's SHA-1 → Redis' SHA-1. */
  const toServer = new Map<string, string>();

  async function translate(command: Command): Promise<Command> {
    const name = String(command[0]).toLowerCase();
    if ((name === "eval" || name === "eval_ro") && typeof command[1] === "string") {
      const script = translateScript(command[1]);
      if (script === null) return command;
      await remember(command[1], script);
      return [command[0], script, ...command.slice(2)];
    }
    if (name === "evalsha" || name === "evalsha_ro") {
      const sha = toServer.get(String(command[1]).toLowerCase());
      return sha ? [command[0], sha, ...command.slice(2)] : command;
    }
    if (name !== "script") return command;
    const sub = String(command[1]).toLowerCase();
    if (sub === "load" && typeof command[2] === "string") {
      const script = translateScript(command[2]);
      if (script === null) return command;
      await remember(command[2], script);
      return [command[0], command[1], script];
    }
    if (sub === "exists") {
      return command.map((arg, i) => i < 2 ? arg : toServer.get(String(arg).toLowerCase()) ?? arg);
    }
    return command;
  }

  async function remember(original: string, script: string) {
    const [client, server] = await Promise.all([scriptSha(original), scriptSha(script)]);
    toServer.set(client, server);
  }

  /** SCRIPT LOAD answers Redis' hash; the client expects the one of the text it sent. */
  async function answer<T>(command: Command, reply: UpstashResponse<T>) {
    const isLoad = String(command[0]).toLowerCase() === "script" &&
      String(command[1]).toLowerCase() === "load" && typeof command[2] === "string";
    if (!isLoad || typeof reply?.result !== "string") return reply;
    if (translateScript(command[2] as string) === null) return reply;
    return { ...reply, result: await scriptSha(command[2] as string) as T };
  }

  return {
    get readYourWrites() {
      return inner.readYourWrites;
    },
    get upstashSyncToken() {
      return inner.upstashSyncToken;
    },
    set upstashSyncToken(token) {
      inner.upstashSyncToken = token;
    },
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      const route = req.path?.[0];
      if (route === "pipeline" || route === "multi-exec") {
        const commands = req.body as Command[];
        if (!Array.isArray(commands) || !commands.some(isScriptCommand)) {
          return await inner.request<TResult>(req);
        }
        const body = await Promise.all(commands.map(translate));
        const replies = await inner.request<TResult>({ ...req, body });
        if (!Array.isArray(replies)) return replies;
        const answers = await Promise.all(replies.map((reply, i) => answer(commands[i], reply)));
        return answers as unknown as UpstashResponse<TResult>;
      }
      const command = req.body as Command;
      if (route || !isScriptCommand(command)) {
        // Nothing to translate: no extra promise or copy (this is every FCALL, GET, HSET…).
        return await inner.request<TResult>(req);
      }
      const reply = await inner.request<TResult>({ ...req, body: await translate(command) });
      return await answer(command, reply);
    },
  };
}
