/**
 * The console's stylesheet and script, embedded in the module graph as text (so Deno Deploy
 * serves them without reading files) and served under `/console/assets/` with a version in the
 * URL, cached for a year.
 *
 * @module
 */
import { Hono } from "hono";
import css from "./assets/console.css" with { type: "text" };
import js from "./assets/console.js" with { type: "text" };

const FILES: Record<string, { body: string; type: string }> = {
  "console.css": { body: css, type: "text/css; charset=utf-8" },
  "console.js": { body: js, type: "text/javascript; charset=utf-8" },
};

/** A short hash of the assets, put in their URLs so a new release is fetched at once. */
export const ASSET_VERSION = fnv1a(css + js);

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}

/** `GET /assets/:file`; mounted in the console. */
export function assetRoutes() {
  return new Hono().get("/assets/:file", (c) => {
    const file = FILES[c.req.param("file")];
    if (!file) return c.notFound();
    c.header("Content-Type", file.type);
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    return c.body(file.body);
  });
}
