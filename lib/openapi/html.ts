/**
 * Renders an OpenAPI document as one self-contained HTML page: no CDN, no external script or
 * style, so `/docs` works offline. Operations are grouped by tag, each with its auth,
 * parameters, request body and responses; a small inline script filters by text.
 *
 * @module
 */
import type { JsonSchema, OpenApiDocument, OpenApiOperation } from "./document.ts";

const AUTH_LABEL: Record<string, string> = {
  admin: "admin token",
  server: "server key",
  sdk: "app key (X-App-Key)",
  sdkSecret: "app key + installation secret",
  none: "none",
};

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/** Renders the reference page for `doc`. */
export function renderReferenceHtml(doc: OpenApiDocument): string {
  const byTag = new Map<string, Array<[string, string, OpenApiOperation]>>();
  for (const tag of doc.tags) byTag.set(tag.name, []);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!op) continue;
      const tag = op.tags[0] ?? "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push([method, path, op]);
    }
  }
  const nav = [...byTag].filter(([, ops]) => ops.length).map(([tag, ops]) =>
    `<li><a href="#tag-${slug(tag)}">${escapeHtml(tag)}</a> <small>${ops.length}</small></li>`
  ).join("");
  const sections = [...byTag].filter(([, ops]) => ops.length).map(([tag, ops]) => {
    const description = doc.tags.find((t) => t.name === tag)?.description;
    return `<section class="tag" id="tag-${slug(tag)}"><h2>${escapeHtml(tag)}</h2>${
      description ? `<p>${escapeHtml(description)}</p>` : ""
    }${ops.map(([method, path, op]) => renderOperation(method, path, op)).join("")}</section>`;
  }).join("");
  const schemas = Object.entries(doc.components.schemas).map(([name, schema]) =>
    `<details id="schema-${slug(name)}"><summary><code>${escapeHtml(name)}</code></summary>${
      pre(schema)
    }</details>`
  ).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.info.title)} API reference</title>
<style>${STYLE}</style></head>
<body><header><h1>${escapeHtml(doc.info.title)} <small>v${escapeHtml(doc.info.version)}</small></h1>
${doc.info.description ? `<p>${escapeHtml(doc.info.description)}</p>` : ""}
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI ${doc.openapi}).
Errors are <code>{"error":{"code","message","details"}}</code>.</p>
<input id="filter" type="search" placeholder="Filter endpoints…" aria-label="Filter endpoints">
</header>
<nav><ul>${nav}</ul></nav>
<main>${sections}<section class="tag" id="schemas"><h2>Shared schemas</h2>${schemas}</section></main>
<script>${SCRIPT}</script>
</body></html>`;
}

function renderOperation(method: string, path: string, op: OpenApiOperation): string {
  const params = op.parameters?.length
    ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th></tr>${
      op.parameters.map((p) =>
        `<tr><td><code>${escapeHtml(String(p.name))}</code></td><td>${
          escapeHtml(String(p.in))
        }</td><td>${p.required ? "yes" : "no"}</td><td>${inline(p.schema as JsonSchema)}</td></tr>`
      ).join("")
    }</table>`
    : "";
  const body = op.requestBody
    ? `<h4>Request body</h4>${
      Object.entries((op.requestBody.content ?? {}) as Record<string, { schema?: JsonSchema }>)
        .map(([type, media]) =>
          `<div class="media"><code>${escapeHtml(type)}</code>${
            media.schema ? pre(media.schema) : ""
          }</div>`
        ).join("")
    }`
    : "";
  const responses = `<h4>Responses</h4>${
    Object.entries(op.responses).map(([status, res]) => {
      const content = (res.content ?? {}) as Record<string, { schema?: JsonSchema }>;
      const schemas = Object.entries(content).map(([type, media]) =>
        media.schema && !media.schema.$ref
          ? `<div class="media"><code>${escapeHtml(type)}</code>${pre(media.schema)}</div>`
          : ""
      ).join("");
      return `<div class="response"><span class="status s${status[0]}">${
        escapeHtml(status)
      }</span> ${escapeHtml(String(res.description ?? ""))}${schemas}</div>`;
    }).join("")
  }`;
  const upper = method.toUpperCase();
  return `<article class="op" id="${
    escapeHtml(op.operationId)
  }" data-method="${upper}" data-path="${
    escapeHtml(path)
  }"><h3><span class="method m-${method}">${upper}</span> <code class="path">${
    escapeHtml(path)
  }</code></h3><p class="summary">${escapeHtml(op.summary)}</p>${
    op.description ? `<p>${escapeHtml(op.description)}</p>` : ""
  }<p class="auth">Auth: <strong>${
    escapeHtml(AUTH_LABEL[op["x-edgepush-auth"]] ?? op["x-edgepush-auth"])
  }</strong></p>${params}${body}${responses}</article>`;
}

function inline(schema: JsonSchema | undefined): string {
  if (!schema) return "";
  return `<code>${escapeHtml(JSON.stringify(schema))}</code>`;
}

function pre(schema: JsonSchema): string {
  return `<pre>${linkRefs(escapeHtml(JSON.stringify(schema, null, 2)))}</pre>`;
}

function linkRefs(escaped: string): string {
  return escaped.replace(
    /&quot;#\/components\/schemas\/([^&]+)&quot;/g,
    (_, name: string) => `<a href="#schema-${slug(name)}">&quot;${name}&quot;</a>`,
  );
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-");
}

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:grid;grid-template-columns:14rem 1fr;
grid-template-areas:"head head" "nav main";color:#1d1d1f}
header{grid-area:head;padding:1rem 2rem;border-bottom:1px solid #ddd}
header h1{margin:0}nav{grid-area:nav;padding:1rem;border-right:1px solid #ddd}
nav ul{list-style:none;padding:0;position:sticky;top:1rem}main{grid-area:main;padding:0 2rem 4rem}
#filter{width:100%;max-width:30rem;padding:.4rem;font:inherit}
.op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.op h3{margin:.3rem 0;font-size:1rem}.method{display:inline-block;min-width:4.5rem;
text-align:center;border-radius:4px;color:#fff;font-size:.8rem;padding:.1rem .3rem}
.m-get{background:#0a7d32}.m-post{background:#0057b8}.m-put{background:#8a4b00}
.m-patch{background:#6b3fa0}.m-delete{background:#b3261e}
pre{background:#f5f5f7;padding:.5rem;overflow:auto;max-height:24rem;font-size:.8rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
.status{font-weight:bold}.s2{color:#0a7d32}.s4,.s5{color:#b3261e}.hidden{display:none}`;

const SCRIPT = `
document.getElementById("filter").addEventListener("input", (event) => {
  const q = event.target.value.toLowerCase();
  for (const op of document.querySelectorAll(".op")) {
    op.classList.toggle("hidden", q !== "" && !op.textContent.toLowerCase().includes(q));
  }
});`;
