/**
 * Every relative link in README.md and docs/ resolves: the file exists, and a `#fragment` names a
 * heading of the target (GitHub's anchor rules). Links inside code blocks and to other schemes
 * are not followed.
 */
import { assertEquals } from "./support/assert.ts";

const ROOT = new URL("../", import.meta.url);

async function markdownFiles(): Promise<URL[]> {
  const files = [new URL("README.md", ROOT)];
  for await (const entry of Deno.readDir(new URL("docs/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".md")) files.push(new URL(`docs/${entry.name}`, ROOT));
  }
  return files;
}

/** The markdown without fenced code blocks and inline code spans. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** Link targets: inline `[text](target)` and reference definitions `[id]: target`. */
export function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*(?:<([^>]+)>|([^)\s]+))(?:\s+"[^"]*")?\s*\)/g)]
    .map((m) => m[1] ?? m[2]);
  const refs = [...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]);
  return [...inline, ...refs];
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[`*_]/g, "").replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[^\p{L}\p{N}\s-]/gu, "").replace(/\s/g, "-");
}

function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  for (const m of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) out.add(m[1]);
  return out;
}

Deno.test("every relative link in README.md and docs/ resolves, anchors included", async () => {
  const broken: string[] = [];
  let checked = 0;
  for (const file of await markdownFiles()) {
    const markdown = await Deno.readTextFile(file);
    for (const target of linkTargets(markdown)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      checked++;
      const [path, fragment] = target.split("#", 2);
      const url = path ? new URL(decodeURI(path), file) : file;
      const where = `${file.pathname.slice(ROOT.pathname.length)} → ${target}`;
      let text: string | undefined;
      try {
        const stat = await Deno.stat(url);
        if (stat.isFile && url.pathname.endsWith(".md")) text = await Deno.readTextFile(url);
      } catch {
        broken.push(`${where}: no such file`);
        continue;
      }
      if (fragment && text !== undefined && !anchors(text).has(fragment)) {
        broken.push(`${where}: no heading #${fragment}`);
      }
    }
  }
  assertEquals(broken, []);
  assertEquals(checked > 10, true, `only ${checked} relative links found: is the parser broken?`);
});

Deno.test("linkTargets and slug read links and headings as GitHub does", () => {
  assertEquals(
    linkTargets('See [a](docs/a.md), [b](<b c.md> "t") and `[not](x.md)`.\n\n[r]: ./r.md\n'),
    ["docs/a.md", "b c.md", "./r.md"],
  );
  assertEquals(linkTargets("```\n[no](code.md)\n```\n"), []);
  assertEquals(
    slug("Where edgepush departs from its design, and why"),
    "where-edgepush-departs-from-its-design-and-why",
  );
  assertEquals(slug("Redis modes and the REST gateway"), "redis-modes-and-the-rest-gateway");
  assertEquals(slug("`deno task push`: one push"), "deno-task-push-one-push");
});
