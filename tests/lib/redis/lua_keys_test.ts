import { assertEquals, assertOk } from "../../support/assert.ts";
import { registryKeys } from "../../../lib/registry/_keys.ts";
import { segmentKeys } from "../../../lib/segments/_keys.ts";
import { sendKeys } from "../../../lib/sends/_keys.ts";

// deno-lint-ignore no-explicit-any
type KeyTable = Record<string, (...args: any[]) => string>;

const HOLE = "\u0000";
const PREFIX = `ep:v1:{${HOLE}}:`;

/** The literal start of every per-app key a `_keys.ts` builds, after the app's prefix. */
function heads(table: KeyTable): Set<string> {
  const out = new Set<string>();
  for (const build of Object.values(table)) {
    const name = build(...Array.from({ length: build.length }, () => HOLE));
    if (!name.startsWith(PREFIX)) continue;
    const rest = name.slice(PREFIX.length);
    // "inst:\0" → "inst:"; a name ending in a variable part also matches literals that fill
    // it in (`prefix .. "reach:production"`), marked by a trailing hole.
    const head = rest.includes(HOLE) ? rest.slice(0, rest.indexOf(HOLE)) : rest;
    if (head) out.add(head);
    if (head && rest.endsWith(HOLE) && rest.indexOf(HOLE) === rest.length - 1) {
      out.add(head + HOLE);
    }
  }
  return out;
}

/** Every `prefix .. "<literal>"` a Lua file builds. */
async function luaHeads(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path);
  return [...text.matchAll(/prefix \.\. "([^"]+)"/g)].map((m) => m[1]);
}

// Which folders' keys a folder's scripts may name. Segments' scripts evaluate installations,
// so they read the registry's installation hashes and user index (and prune.lua deletes them):
// the one documented exception, noted at the top of lib/segments/scripts/_segment_reindex.lua.
const OWNERS: Record<string, Set<string>[]> = {
  registry: [heads(registryKeys)],
  segments: [heads(segmentKeys), heads(registryKeys)],
  sends: [heads(sendKeys)],
};

Deno.test("Lua scripts build only key names their folder's _keys.ts (or the documented exception) defines", async () => {
  let checked = 0;
  for (const [folder, allowed] of Object.entries(OWNERS)) {
    for await (const entry of Deno.readDir(`lib/${folder}/scripts`)) {
      if (!entry.name.endsWith(".lua")) continue;
      for (const head of await luaHeads(`lib/${folder}/scripts/${entry.name}`)) {
        checked++;
        assertOk(
          allowed.some((set) =>
            set.has(head) ||
            [...set].some((h) => h.endsWith(HOLE) && head.startsWith(h.slice(0, -1)))
          ),
          `lib/${folder}/scripts/${entry.name} builds "${head}…", which no owning _keys.ts defines`,
        );
      }
    }
  }
  assertOk(checked > 20, `only ${checked} key names found: is the pattern still right?`);
});

Deno.test("Lua scripts receive keys one way: prefix or full names in KEYS, values in ARGV", async () => {
  const offenders: string[] = [];
  for await (const folder of Deno.readDir("lib")) {
    if (!folder.isDirectory) continue;
    const dir = `lib/${folder.name}/scripts`;
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.name.endsWith(".lua") || entry.name.startsWith("_")) continue;
        const text = await Deno.readTextFile(`${dir}/${entry.name}`);
        // The prefix always arrives as KEYS[1]; no script takes a key (or the prefix) in ARGV.
        if (/local prefix[^=\n]*= *ARGV/.test(text)) {
          offenders.push(`${entry.name}: prefix in ARGV`);
        }
        if (/-- ARGV\[[^\]]+\]:? +(key|the [a-z ]*(set|hash|zset|key))\b/i.test(text)) {
          offenders.push(`${entry.name}: a key in ARGV`);
        }
        if (!/^-- KEYS\[1\]/m.test(text)) offenders.push(`${entry.name}: no KEYS header`);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  assertEquals(offenders, []);
});
