/**
 * Lua run as a Redis function library (`FUNCTION LOAD`, then `FCALL`) instead of as scripts
 * (`EVALSHA`). A script runs its whole text on every call, so the helpers and tables it opens
 * with are rebuilt each time; a library runs that prelude once, when it is loaded, and each call
 * only runs the function's body. For the registry's scripts the prelude (the installation codec,
 * the segment reindex, the rate limit) cost ~6 µs of Redis CPU per call, a seventh of a
 * registration (tests/bench/registration.ts).
 *
 * Redis keeps libraries with its data (RDB, AOF, replicas; FLUSHALL leaves them), but a fresh
 * server, a restart without persistence or FUNCTION FLUSH has none: a call answered "Function
 * not found" loads the library (with REPLACE) and is sent again, so nothing is asked of the
 * operator. The library's
 * name carries a hash of its text, so two versions of edgepush running side by side during a
 * deploy call their own functions.
 *
 * Functions need Redis 7.0 or later (Upstash supports them). In cluster mode the TCP requester
 * sends FUNCTION LOAD to every master (./_cluster_routing.ts), since any of them may own the
 * slot a call lands on.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { hash } from "node:crypto";

/** Options of {@linkcode createFunctionLibrary}. */
export interface FunctionLibraryOptions<Name extends string> {
  /** Library name, before the hash of its text: `[a-z0-9_]+`, e.g. `edgepush_registry`. */
  name: string;
  /**
   * Lua run once when the library loads: the local helpers and tables the functions share. Its
   * top-level locals outlive a call, so state a call must not see from the previous one is
   * cleared by `eachCall`.
   */
  prelude: string;
  /** Lua statements run first in every call, e.g. clearing a prelude's per-call memo. */
  eachCall?: string;
  /** The functions' bodies, each written as a script: it reads `KEYS` and `ARGV`, and returns. */
  functions: Record<Name, string>;
}

/** A loaded-on-demand function library; see {@linkcode createFunctionLibrary}. */
export interface FunctionLibrary<Name extends string> {
  /** Calls function `name` with `keys` and `args`, loading the library if Redis lacks it. */
  call<T>(name: Name, keys: string[], args: string[]): Promise<T>;
  /** The library's name as Redis knows it (`<name>_<hash>`). */
  readonly libraryName: string;
  /** The library's text, as sent with FUNCTION LOAD. */
  readonly code: string;
  /** The name Redis knows function `name` by. */
  functionName(name: Name): string;
}

const NAME = /^[a-z0-9_]+$/;
const MISSING = /function not found/i;

/** Builds the library text from `options`; it is loaded on the first call. */
export function createFunctionLibrary<Name extends string>(
  redis: Redis,
  options: FunctionLibraryOptions<Name>,
): FunctionLibrary<Name> {
  if (!NAME.test(options.name)) throw new Error(`bad library name: ${options.name}`);
  const names = Object.keys(options.functions) as Name[];
  for (const name of names) {
    if (!NAME.test(name.toLowerCase())) throw new Error(`bad function name: ${name}`);
  }
  // Hash the parts, not the assembled text, so the names can go into that text.
  const digest = hash(
    "sha1",
    JSON.stringify([options.name, options.prelude, options.eachCall ?? "", options.functions]),
    "hex",
  ).slice(0, 12);
  const libraryName = `${options.name}_${digest}`;
  const functionName = (name: Name) => `${libraryName}_${name}`;
  const registrations = names.map((name) =>
    // KEYS and ARGV as the callback's parameters: each body reads them as a script would.
    `redis.register_function('${functionName(name)}', function(KEYS, ARGV)\n` +
    `${options.eachCall ?? ""}\n${options.functions[name]}\nend)`
  );
  const code = `#!lua name=${libraryName}\n${options.prelude}\n${registrations.join("\n")}\n`;

  // @upstash/redis builds this object (a closure per subcommand) on every access.
  const functions = redis.functions;
  let loading: Promise<unknown> | null = null;
  function load(): Promise<unknown> {
    // Concurrent misses (a fresh Redis under load) share one FUNCTION LOAD.
    loading ??= functions.load({ code, replace: true }).finally(() => {
      loading = null;
    });
    return loading;
  }

  return {
    libraryName,
    code,
    functionName,
    async call<T>(name: Name, keys: string[], args: string[]): Promise<T> {
      const fn = functionName(name);
      try {
        return await functions.call<T>(fn, keys, args);
      } catch (error) {
        if (!(error instanceof Error) || !MISSING.test(error.message)) throw error;
      }
      await load();
      return await functions.call<T>(fn, keys, args);
    },
  };
}
