// edgepush console: the little behaviour the server-rendered pages need, as one ES module
// served by edgepush itself (no build step, no CDN, no inline scripts). Every page works
// without it except where a live view needs it: polling lists, the composer's preview and size
// meter, and the member upload's progress bar.

const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

/** Replaces a region's HTML with a fragment from the server every few seconds. */
function startPolling(region) {
  const url = region.dataset.poll;
  const every = Number(region.dataset.interval ?? "2000");
  let stopped = false;
  async function tick() {
    if (stopped) return;
    try {
      const res = await fetch(url, { credentials: "same-origin", headers: { "x-console": "1" } });
      if (res.ok) {
        region.innerHTML = await res.text();
        if (res.headers.get("x-poll-done") === "1") stopped = true;
      }
    } catch {
      // Offline for a moment: the next tick tries again.
    }
    if (!stopped) setTimeout(tick, every);
  }
  setTimeout(tick, every);
}

/** The composer: preview, valid push type/priority pairs, audience fields and the size meter. */
function startComposer(form) {
  const field = (name) => form.elements.namedItem(name);
  const preview = (name) => document.querySelector(`[data-preview="${name}"]`);
  const pushType = field("pushType");
  const priority = field("priority");

  function syncPriority() {
    const type = pushType.value;
    let firstValid = null;
    for (const option of priority.options) {
      const valid = option.dataset.types.split(" ").includes(type);
      option.disabled = !valid;
      option.hidden = !valid;
      if (valid && firstValid === null) firstValid = option;
    }
    if (priority.selectedOptions[0]?.disabled && firstValid) priority.value = firstValid.value;
    for (const el of form.querySelectorAll("[data-alert-only]")) {
      el.classList.toggle("hidden", type !== "alert");
    }
  }

  function syncAudience() {
    const kind = form.querySelector('input[name="audienceKind"]:checked')?.value;
    for (const el of form.querySelectorAll("[data-audience]")) {
      el.classList.toggle("hidden", el.dataset.audience !== kind);
    }
  }

  function syncPreview() {
    for (const name of ["title", "subtitle", "body"]) {
      const el = preview(name);
      if (el) el.textContent = field(name)?.value ?? "";
    }
    const image = preview("image");
    const url = field("image")?.value ?? "";
    if (image) {
      if (url.startsWith("https://")) {
        image.src = url;
        image.classList.remove("hidden");
      } else {
        image.removeAttribute("src");
        image.classList.add("hidden");
      }
    }
  }

  let timer = 0;
  let seq = 0;
  async function check() {
    const mine = ++seq;
    const body = new FormData(form);
    try {
      const res = await fetch(form.dataset.check, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "x-csrf-token": csrf },
      });
      if (mine !== seq || !res.ok) return;
      const result = await res.json();
      const meter = document.getElementById("size-meter");
      const text = document.getElementById("size-text");
      if (meter && result.limit) {
        meter.max = result.limit;
        meter.high = result.limit * 0.9;
        meter.value = Math.min(result.size ?? 0, result.limit);
      }
      if (text) text.textContent = result.sizeText ?? "";
      const reach = document.getElementById("reach-text");
      if (reach) reach.textContent = result.reachText ?? "";
      const problem = document.getElementById("check-error");
      if (problem) problem.textContent = result.error ?? "";
    } catch {
      // The server re-checks on submit.
    }
  }
  function changed() {
    syncPriority();
    syncAudience();
    syncPreview();
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  changed();
}

/** Member upload: streams the file as the body, with a progress bar. */
function startUpload(form) {
  const input = form.elements.namedItem("file");
  const bar = form.querySelector("progress");
  const status = form.querySelector("[data-upload-status]");
  const error = form.querySelector("[data-upload-error]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = input.files?.[0];
    error.textContent = "";
    if (!file) {
      error.textContent = "Choose a file first.";
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    const mode = form.elements.namedItem("mode").value;
    const ndjson = /\.(ndjson|jsonl|json)$/i.test(file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${form.action}?mode=${encodeURIComponent(mode)}`);
    xhr.setRequestHeader("content-type", ndjson ? "application/x-ndjson" : "text/plain");
    xhr.setRequestHeader("x-csrf-token", csrf);
    bar.value = 0;
    bar.classList.remove("hidden");
    status.textContent = "Uploading…";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        bar.max = e.total;
        bar.value = e.loaded;
        status.textContent = `Uploading… ${Math.round((100 * e.loaded) / e.total)}%`;
      }
    });
    xhr.addEventListener("load", () => {
      let result = {};
      try {
        result = JSON.parse(xhr.responseText);
      } catch {
        // Not JSON: reported below.
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = bar.max;
        status.textContent = result.message ?? "Uploaded.";
        for (const region of document.querySelectorAll("[data-refresh-after-upload]")) {
          fetch(region.dataset.refreshAfterUpload, { credentials: "same-origin" })
            .then((res) => res.text()).then((html) => region.innerHTML = html);
        }
      } else {
        status.textContent = "";
        error.textContent = result.error ?? `Upload failed (${xhr.status}).`;
        input.setAttribute("aria-invalid", "true");
      }
    });
    xhr.addEventListener("error", () => {
      status.textContent = "";
      error.textContent = "The upload was interrupted: check the connection and try again.";
    });
    xhr.send(file);
  });
}

/** Rule builder: adds and removes condition rows. */
function startRuleBuilder(root) {
  const template = root.querySelector("template");
  const rows = root.querySelector("[data-rows]");
  root.querySelector("[data-add-row]")?.addEventListener("click", () => {
    const index = rows.children.length;
    const row = template.content.firstElementChild.cloneNode(true);
    for (const el of row.querySelectorAll("[name], [for], [id]")) {
      for (const attr of ["name", "for", "id"]) {
        const value = el.getAttribute(attr);
        if (value) el.setAttribute(attr, value.replace("__i__", String(index)));
      }
    }
    rows.append(row);
    row.querySelector("input, select")?.focus();
  });
  root.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-row]");
    if (button) button.closest(".rule-row")?.remove();
  });
}

for (const region of document.querySelectorAll("[data-poll]")) startPolling(region);
for (const form of document.querySelectorAll("form[data-compose]")) startComposer(form);
for (const form of document.querySelectorAll("form[data-upload]")) startUpload(form);
for (const root of document.querySelectorAll("[data-rule-builder]")) startRuleBuilder(root);
