/**
 * The app's router: the API's routes and the console's each in a router of their own, so that
 * the API keeps Hono's fastest one.
 *
 * Hono's default router tries `RegExpRouter` (every route compiled into one regular expression,
 * a static path's match cached) and falls back to `TrieRouter` for the whole app when one route is
 * beyond it. The console has such routes (`/segments/new` beside `/segments/:segmentId`), and
 * sharing the console's fallback made routing ~4% of a registration's CPU (a trie walk and its
 * arrays on every request). Split by path, the API's routes alone compile into a `RegExpRouter`.
 *
 * @module
 */
import type { Result, Router } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";

/** Hono's default router: `RegExpRouter` when it takes every route, `TrieRouter` otherwise. */
function defaultRouter<T>(): SmartRouter<T> {
  return new SmartRouter<T>({ routers: [new RegExpRouter<T>(), new TrieRouter<T>()] });
}

/**
 * Routes the paths under `prefix` (e.g. `/console`) and all others with two routers. A pattern
 * that can match both sides (`/*`, or a parameter first: app-wide middleware) goes to both, in
 * the order it was added, so each side sees the routes it matches as one router would.
 */
export class SplitRouter<T> implements Router<T> {
  name = "SplitRouter";
  /** The router of the paths outside the prefix: the API's. */
  readonly main: SmartRouter<T> = defaultRouter<T>();
  /** The router of the paths under the prefix. */
  readonly prefixed: SmartRouter<T> = defaultRouter<T>();
  #prefix: string;

  /** Splits at `prefix`, a path without a trailing slash. */
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Adds a route to the side (or both sides) its pattern can match. */
  add(method: string, path: string, handler: T): void {
    if (/^\/?[*:]/.test(path)) {
      this.main.add(method, path, handler);
      this.prefixed.add(method, path, handler);
    } else if (this.#under(path)) {
      this.prefixed.add(method, path, handler);
    } else {
      this.main.add(method, path, handler);
    }
  }

  /** Matches `path` on its side's router. */
  match(method: string, path: string): Result<T> {
    return this.#under(path) ? this.prefixed.match(method, path) : this.main.match(method, path);
  }

  #under(path: string): boolean {
    return path.startsWith(this.#prefix) &&
      (path.length === this.#prefix.length || path[this.#prefix.length] === "/");
  }
}
