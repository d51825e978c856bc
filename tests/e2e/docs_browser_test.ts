/**
 * Loads `/docs` in headless Chromium (Debian's `chromium`, driven by `playwright-core`) over a
 * real HTTP listener, and checks that every documented operation is listed on the page.
 * Skips, saying so, when chromium is not installed; CI installs it.
 *
 * @module
 */
import { chromium } from "playwright-core";
import { assertEquals, assertOk } from "../support/assert.ts";
import { startHarness } from "../support/harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) {
  console.warn(`SKIPPED docs browser test: ${CHROMIUM} not found (apt-get install -y chromium)`);
}

Deno.test({
  name: "GET /docs lists every endpoint in headless Chromium",
  ignore: !hasChromium,
  async fn() {
    const h = await startHarness();
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, h.app.fetch);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const base = `http://127.0.0.1:${server.addr.port}`;
      const doc = await (await fetch(`${base}/openapi.json`)).json();
      const expected: string[] = [];
      for (const [path, item] of Object.entries(doc.paths as Record<string, object>)) {
        for (const method of Object.keys(item)) expected.push(`${method.toUpperCase()} ${path}`);
      }

      const page = await browser.newPage();
      const external: string[] = [];
      page.on("request", (request) => {
        if (!request.url().startsWith(base)) external.push(request.url());
      });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      const response = await page.goto(`${base}/docs`, { waitUntil: "load" });
      assertEquals(response?.status(), 200);
      assertOk((await page.title()).includes("edgepush"));

      const listed = await page.$$eval(
        "article.op",
        (nodes) =>
          nodes.map((n) => `${n.getAttribute("data-method")} ${n.getAttribute("data-path")}`),
      );
      assertEquals(listed.sort(), expected.sort());
      // The visible text shows method and path for each one, too.
      const visible = await page.locator("article.op h3").allInnerTexts();
      assertOk(visible.some((text) => /POST\s+\/v1\/apps\/\{appId\}\/test-sessions$/.test(text)));

      // The inline filter script works: filtering hides everything but matching endpoints.
      await page.fill("#filter", "server-keys");
      const shown = await page.locator("article.op:not(.hidden)").count();
      assertEquals(shown, 1);
      assertEquals(errors, []);
      assertEquals(external, []);
    } finally {
      await browser.close();
      await server.shutdown();
      await h.stop();
    }
  },
});
